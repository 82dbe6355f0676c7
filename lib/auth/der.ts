/**
 * The few DER encodings an X.509 certificate needs (RFC 5280 with X.690's distinguished rules):
 * sequences, sets, integers, object identifiers, strings, times and context tags.
 * @module
 */

/** DER bytes. */
export type Der = Uint8Array<ArrayBuffer>;

const enc = new TextEncoder();

function concat(parts: Uint8Array[]): Der {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A tag-length-value with `tag` around `content`. */
export function tlv(tag: number, ...content: Uint8Array[]): Der {
  const body = concat(content);
  const n = body.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  return concat([new Uint8Array([tag, ...len]), body]);
}

/** SEQUENCE of `items`. */
export const seq = (...items: Uint8Array[]): Der => tlv(0x30, ...items);
/** SET of `items`. */
export const set = (...items: Uint8Array[]): Der => tlv(0x31, ...items);
/** BOOLEAN. */
export const bool = (v: boolean): Der => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
/** OCTET STRING. */
export const octets = (v: Uint8Array): Der => tlv(0x04, v);
/** UTF8String. */
export const utf8 = (v: string): Der => tlv(0x0c, enc.encode(v));
/** `[n] EXPLICIT` around `inner`. */
export const explicit = (n: number, inner: Uint8Array): Der => tlv(0xa0 | n, inner);
/** `[n] IMPLICIT` primitive with raw `content`. */
export const implicit = (n: number, content: Uint8Array): Der => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian `bytes`, in its shortest form. */
export function uint(bytes: Uint8Array): Der {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, ...((v[0]! & 0x80) ? [new Uint8Array([0]), v] : [v]));
}

/** A small non-negative INTEGER. */
export const int = (n: number): Der => uint(new Uint8Array([n]));

/** A BIT STRING of whole bytes. */
export const bits = (v: Uint8Array): Der => tlv(0x03, new Uint8Array([0]), v);

/** A named-bit BIT STRING (`KeyUsage`): bit 0 is the first byte's highest bit. */
export function namedBits(set: number[]): Der {
  const last = Math.max(...set);
  const bytes = new Uint8Array((last >> 3) + 1);
  for (const b of set) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return tlv(0x03, new Uint8Array([7 - (last & 7)]), bytes);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Der {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const group = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
export function time(d: Date): Der {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, enc.encode(iso.slice(2)))
    : tlv(0x18, enc.encode(iso));
}

/** Wrap DER in PEM armour labelled `label`. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = der.toBase64().match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block labelled `label` of `text`; throws `TypeError` without one. */
export function unpem(text: string, label: string): Der {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`)
    .exec(text);
  if (!m) throw new TypeError(`Expected a PEM "${label}" block`);
  return Uint8Array.fromBase64(m[1]!.replace(/\s+/g, ""));
}

/** The elements of the constructed TLV `der` (a SEQUENCE, SET or tag), each as whole TLV bytes. */
export function elements(der: Uint8Array): Uint8Array[] {
  const read = (at: number) => {
    let len = der[at + 1]!;
    let head = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
      head += n;
    }
    if (at + head + len > der.length) throw new TypeError("Truncated DER");
    return { head, end: at + head + len };
  };
  const outer = read(0);
  const out: Uint8Array[] = [];
  for (let at = outer.head; at < outer.end;) {
    const { end } = read(at);
    out.push(der.subarray(at, end));
    at = end;
  }
  return out;
}
