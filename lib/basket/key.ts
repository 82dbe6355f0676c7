/**
 * Keys of the `basket` bucket: `<peel-id>.<name>`, where the name is a function (`network.ip_addrs`)
 * or an alias the operator chose. KV keys allow only `[-/_=.a-zA-Z0-9]` and no empty token, so a
 * name is encoded: letters, digits, `_`, `-` and dots between non-empty parts stay; every other
 * byte of its UTF-8 becomes `=XX` (hex), as quoted-printable writes it.
 * @module
 */
import { isPeelId } from "../bus/subjects.ts";

/** The longest basket name, in characters. */
export const MAX_NAME_LENGTH = 256;

/** A basket name or key that cannot be used. */
export class BasketKeyError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "BasketKeyError";
  }
}

const KEEP = /[A-Za-z0-9_-]/;

/** `name` as one or more key tokens; throws {@linkcode BasketKeyError} for an empty or long name. */
export function encodeName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new BasketKeyError(
      `Invalid basket name "${name}": expected 1 to ${MAX_NAME_LENGTH} characters`,
    );
  }
  let out = "";
  const chars = [...name];
  chars.forEach((c, i) => {
    const innerDot = c === "." && i > 0 && i < chars.length - 1 && chars[i - 1] !== ".";
    if (KEEP.test(c) || innerDot) out += c;
    else {
      for (const b of new TextEncoder().encode(c)) {
        out += `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
      }
    }
  });
  return out;
}

/** The name {@linkcode encodeName} encoded as `token`. */
export function decodeName(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const hex = token[i] === "=" ? token.slice(i + 1, i + 3) : "";
    if (/^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The key of `peelId`'s entry `name`. */
export function basketKey(peelId: string, name: string): string {
  if (!isPeelId(peelId)) throw new BasketKeyError(`Invalid peel id "${peelId}"`);
  return `${peelId}.${encodeName(name)}`;
}

/** The peel id and name of basket key `key`, or `undefined` when it is not one. */
export function parseBasketKey(key: string): { peelId: string; name: string } | undefined {
  const dot = key.indexOf(".");
  const peelId = key.slice(0, dot);
  if (dot < 0 || !isPeelId(peelId) || dot === key.length - 1) return undefined;
  return { peelId, name: decodeName(key.slice(dot + 1)) };
}
