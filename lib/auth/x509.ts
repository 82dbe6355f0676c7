/**
 * A certificate authority for a deployment's mutual TLS: a self-signed CA and the server and
 * client certificates it issues, all ECDSA P-256 over WebCrypto, written as PEM (certificates,
 * PKCS #8 keys) that nats-server and the Deno/Node TLS stack read; and when a certificate expires.
 *
 * @example
 * ```ts
 * const ca = await CertificateAuthority.create("Zester CA");
 * const server = await ca.issue({ name: "nats", usage: "server", hosts: ["127.0.0.1"] });
 * ```
 * @module
 */
import { X509Certificate } from "node:crypto";
import {
  bits,
  bool,
  elements,
  explicit,
  implicit,
  int,
  namedBits,
  octets,
  oid,
  pem,
  seq,
  set,
  time,
  uint,
  unpem,
  utf8,
} from "./der.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const ECDSA_WITH_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const DAY_MS = 86_400_000;

/** A certificate and its private key, as PEM. */
export interface CertAndKey {
  /** The certificate (`CERTIFICATE`). */
  cert: string;
  /** The private key (`PRIVATE KEY`, PKCS #8). */
  key: string;
}

/** What a certificate is for. */
export interface IssueOptions {
  /** Common name (for people and logs). */
  name: string;
  /**
   * A server certificate (TLS server auth), a client one (client auth), or a peer one (both: a
   * nats-server that dials others for cluster routes and leaf node connections).
   */
  usage: "server" | "client" | "peer";
  /** Host names and IP addresses the certificate names (servers: every name clients dial). */
  hosts?: string[];
  /** Validity in days. */
  days?: number;
}

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const EXTENDED_KEY_USAGES = {
  server: [SERVER_AUTH],
  client: [CLIENT_AUTH],
  peer: [SERVER_AUTH, CLIENT_AUTH],
} as const;

function distinguishedName(cn: string): Uint8Array {
  return seq(set(seq(oid("2.5.4.10"), utf8("Zester"))), set(seq(oid("2.5.4.3"), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** IPv4 or IPv6 literal as bytes, or undefined for a host name. */
function ipBytes(host: string): Uint8Array | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return new Uint8Array(host.split(".").map(Number));
  if (!host.includes(":")) return undefined;
  const [head, tail] = host.replace(/^\[|\]$/g, "").split("::") as [string, string?];
  const words = (s?: string) => s ? s.split(":").map((w) => parseInt(w, 16)) : [];
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) {
    throw new TypeError(`Invalid IP address "${host}"`);
  }
  return new Uint8Array(all.flatMap((w) => [w >> 8, w & 0xff]));
}

function subjectAltName(hosts: string[]): Uint8Array {
  return seq(...hosts.map((h) => {
    const ip = ipBytes(h);
    return ip ? implicit(7, ip) : implicit(2, new TextEncoder().encode(h));
  }));
}

/** `ECDSA-Sig-Value`: WebCrypto's raw r‖s as the DER sequence X.509 carries. */
function derSignature(raw: Uint8Array): Uint8Array {
  return seq(uint(raw.subarray(0, 32)), uint(raw.subarray(32)));
}

async function keyId(publicKey: CryptoKey): Promise<Uint8Array> {
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
  return new Uint8Array(await crypto.subtle.digest("SHA-1", point));
}

async function pkcs8(key: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/** A CA that issues certificates; its key lives only in memory unless exported. */
export class CertificateAuthority {
  /** The CA certificate (PEM), for clients and servers to trust. */
  readonly cert: string;
  readonly #keys: CryptoKeyPair;
  readonly #name: Uint8Array;
  readonly #keyId: Uint8Array;

  private constructor(cert: string, keys: CryptoKeyPair, name: Uint8Array, id: Uint8Array) {
    this.cert = cert;
    this.#keys = keys;
    this.#name = name;
    this.#keyId = id;
  }

  /** A new self-signed CA called `name`, valid `days` days. */
  static async create(name: string, days = 3650): Promise<CertificateAuthority> {
    const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const dn = distinguishedName(name);
    const id = await keyId(keys.publicKey);
    const ca = new CertificateAuthority("", keys, dn, id);
    const der = await ca.#sign(dn, keys.publicKey, days, [
      extension("2.5.29.19", true, seq(bool(true), int(0))),
      extension("2.5.29.15", true, namedBits([0, 5, 6])),
      extension("2.5.29.14", false, octets(id)),
    ]);
    return new CertificateAuthority(pem("CERTIFICATE", der), keys, dn, id);
  }

  /**
   * The CA of certificate `cert` and private key `key` (PEM, as {@linkcode exportKey} and
   * `cert` write them): to issue more certificates for a deployment. Throws `TypeError` when
   * they are not an ECDSA P-256 CA certificate and its key.
   */
  static async load(cert: string, key: string): Promise<CertificateAuthority> {
    try {
      const tbs = elements(elements(unpem(cert, "CERTIFICATE"))[0]!);
      // version, serial, signature algorithm, issuer, validity, subject, public key
      const [subject, spki] = [tbs[5]!, tbs[6]!];
      const keys = {
        publicKey: await crypto.subtle.importKey("spki", spki.slice(), ALG, true, ["verify"]),
        privateKey: await crypto.subtle.importKey("pkcs8", unpem(key, "PRIVATE KEY"), ALG, true, [
          "sign",
        ]),
      };
      const probe = new TextEncoder().encode("zester CA key check");
      const signature = await crypto.subtle.sign(SIGN, keys.privateKey, probe);
      if (!await crypto.subtle.verify(SIGN, keys.publicKey, signature, probe)) {
        throw new TypeError("the key is not the certificate's");
      }
      return new CertificateAuthority(cert, keys, subject.slice(), await keyId(keys.publicKey));
    } catch (e) {
      throw new TypeError(`Cannot load the CA: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The CA's private key (PEM): keep it where only the operator can read it. */
  async exportKey(): Promise<string> {
    return await pkcs8(this.#keys.privateKey);
  }

  /** A new key and a certificate for it, signed by this CA. */
  async issue(opts: IssueOptions): Promise<CertAndKey> {
    const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const hosts = opts.hosts ?? [];
    const exts = [
      extension("2.5.29.19", true, seq()),
      extension("2.5.29.15", true, namedBits([0])),
      extension(
        "2.5.29.37",
        false,
        seq(...EXTENDED_KEY_USAGES[opts.usage].map(oid)),
      ),
      extension("2.5.29.14", false, octets(await keyId(keys.publicKey))),
      extension("2.5.29.35", false, seq(implicit(0, this.#keyId))),
    ];
    if (hosts.length) exts.push(extension("2.5.29.17", false, subjectAltName(hosts)));
    const der = await this.#sign(
      distinguishedName(opts.name),
      keys.publicKey,
      opts.days ?? 825,
      exts,
    );
    return { cert: pem("CERTIFICATE", der), key: await pkcs8(keys.privateKey) };
  }

  async #sign(
    subject: Uint8Array,
    publicKey: CryptoKey,
    days: number,
    extensions: Uint8Array[],
  ): Promise<Uint8Array> {
    const serial = crypto.getRandomValues(new Uint8Array(16));
    serial[0]! &= 0x7f;
    const now = Date.now();
    const tbs = seq(
      explicit(0, int(2)),
      uint(serial),
      ECDSA_WITH_SHA256,
      this.#name,
      seq(time(new Date(now - 5 * 60_000)), time(new Date(now + days * DAY_MS))),
      subject,
      new Uint8Array(await crypto.subtle.exportKey("spki", publicKey)),
      explicit(3, seq(...extensions)),
    );
    const raw = new Uint8Array(await crypto.subtle.sign(SIGN, this.#keys.privateKey, tbs));
    return seq(tbs, ECDSA_WITH_SHA256, bits(derSignature(raw)));
  }
}

/** When the first certificate of PEM `text` expires; throws `TypeError` when there is none. */
export function certificateExpiry(text: string): Date {
  try {
    return new X509Certificate(text).validToDate;
  } catch (e) {
    throw new TypeError(`Cannot read a certificate: ${(e as Error).message}`, { cause: e });
  }
}
