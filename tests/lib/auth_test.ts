import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createAccount, createOperator } from "nkeys.js";
import {
  accountJwt,
  CertificateAuthority,
  CredsError,
  decodeJwt,
  Deployment,
  encodeJwt,
  formatCreds,
  issueUser,
  JwtError,
  loadOrCreateUserKey,
  nowSeconds,
  parseCreds,
  readSeedFile,
  verifyChain,
  verifyJwt,
  writeCredsFile,
} from "../../lib/auth/mod.ts";
import { tempDir } from "../harness/mod.ts";

const deployment = await Deployment.create("unit");

function chainFor(user: string, account = deployment.accountJwt()) {
  return { operator: deployment.operatorJwt, account, user };
}

Deno.test("jwt - a signed token verifies and decodes to its claims", () => {
  const { jwt } = deployment.issue({ name: "web-01", role: "peel" });
  const c = verifyJwt(jwt);
  assert.equal(c.name, "web-01");
  assert.equal(c.iss, deployment.account.signing.getPublicKey());
  assert.equal(c.nats.type, "user");
  assert.match(c.jti, /^[A-Z2-7]{52}$/);
  assert.deepEqual(decodeJwt(jwt), c);
  const chain = verifyChain(chainFor(jwt));
  assert.equal(chain.user.nats.issuer_account, deployment.account.identity.getPublicKey());
  assert.ok(chain.user.nats.sub.allow?.includes("zester.cmd.web-01"));
});

Deno.test("jwt - a tampered signature or payload is refused", () => {
  const { jwt } = deployment.issue({ name: "web-01", role: "peel" });
  const [h, p, s] = jwt.split(".");
  const flipped = s!.slice(0, 10) + (s![10] === "A" ? "B" : "A") + s!.slice(11);
  assert.throws(() => verifyJwt(`${h}.${p}.${flipped}`), JwtError);
  const claims = decodeJwt(jwt);
  const forged = new TextEncoder().encode(JSON.stringify({ ...claims, name: "web-02" }))
    .toBase64({ alphabet: "base64url", omitPadding: true });
  assert.throws(() => verifyJwt(`${h}.${forged}.${s}`), /Invalid JWT signature/);
  assert.throws(() => verifyJwt("not.a-jwt"), /Malformed JWT/);
});

Deno.test("jwt - a user signed by a key the account does not list is refused", () => {
  const stranger = {
    name: "ZESTER",
    identity: deployment.account.identity,
    signing: createAccount(),
  };
  const { jwt } = issueUser(stranger, { name: "web-01", role: "peel" });
  verifyJwt(jwt); // well signed by its own issuer ...
  assert.throws(() => verifyChain(chainFor(jwt)), /not by account "ZESTER"/); // ... the wrong one
  // An account signed by the operator's identity key: the operator accepts signing keys only.
  const byIdentity = { ...deployment.operator, signing: deployment.operator.identity };
  const account = accountJwt(byIdentity, deployment.account, { jetstream: true });
  const good = deployment.issue({ name: "web-01", role: "peel" }).jwt;
  assert.throws(() => verifyChain(chainFor(good, account)), /not by operator/);
  // An operator that is not self-signed.
  const other = createOperator();
  const op = encodeJwt(
    { sub: other.getPublicKey(), nats: { type: "operator", version: 2 } },
    createOperator(),
  );
  assert.throws(
    () => verifyChain({ operator: op, account: deployment.accountJwt(), user: good }),
    /not self-signed/,
  );
});

Deno.test("jwt - expiry, not-before and revocation", () => {
  const now = nowSeconds();
  const expired = deployment.issue({ name: "web-01", role: "peel", expires: now - 1 }).jwt;
  assert.throws(() => verifyJwt(expired, now), /expired at/);
  const later = deployment.issue({ name: "web-01", role: "peel", expires: now + 60 }).jwt;
  assert.equal(verifyJwt(later, now).exp, now + 60);
  assert.throws(() => verifyJwt(later, now + 61), /expired/);
  const future = encodeJwt(
    { sub: "x", nbf: now + 100, nats: { type: "operator", version: 2 } },
    createOperator(),
  );
  assert.throws(() => verifyJwt(future, now), /not valid before/);
  const user = deployment.issue({ name: "web-01", role: "peel" }).jwt;
  // Revocations relative to the user's own issue time: a loaded machine may take seconds
  // between `now` and the signing.
  const { sub: key, iat } = decodeJwt(user);
  const revoked = deployment.accountJwt({ [key]: iat });
  assert.throws(() => verifyChain(chainFor(user, revoked), now), /is revoked/);
  // Users issued after a revocation are not revoked by it.
  verifyChain(chainFor(user, deployment.accountJwt({ [key]: iat - 1 })), now);
});

Deno.test("creds - the standard format round-trips, and files are written 0600", async () => {
  await using dir = await tempDir();
  const creds = deployment.issue({ name: "admin", role: "admin" });
  const text = formatCreds(creds);
  assert.match(text, /-----BEGIN NATS USER JWT-----\n/);
  assert.match(text, /-----BEGIN USER NKEY SEED-----\nSU/);
  assert.deepEqual(parseCreds(text), creds);
  assert.throws(() => parseCreds("nothing here", "x.creds"), /Invalid creds file "x.creds"/);
  const path = `${dir.path}/admin.creds`;
  await Deno.writeTextFile(path, "old", { mode: 0o644 });
  await writeCredsFile(path, creds);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
});

Deno.test("seed file - created 0600 once, read back the same, refused when its group may read it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/peel.nk`;
  const key = await loadOrCreateUserKey(path);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await readSeedFile(path, "U")).getPublicKey(), key.getPublicKey());
  await Deno.chmod(path, 0o640);
  await assert.rejects(
    readSeedFile(path, "U"),
    (e) =>
      e instanceof CredsError && e.message.startsWith(`Refusing seed file "${path}": mode 0640`),
  );
  await Deno.chmod(path, 0o600);
  await assert.rejects(readSeedFile(path, "A"), /Invalid seed file .*expected one SA seed/);
});

Deno.test("x509 - a CA loaded from its PEM files issues certificates it verifies; another key is refused", async () => {
  const ca = await CertificateAuthority.create("t CA");
  const loaded = await CertificateAuthority.load(ca.cert, await ca.exportKey());
  const leaf = new X509Certificate((await loaded.issue({ name: "web-07", usage: "client" })).cert);
  const root = new X509Certificate(ca.cert);
  assert.ok(leaf.checkIssued(root), "issuer and key id match the CA");
  assert.ok(leaf.verify(root.publicKey), "signed by the CA's key");
  const other = await CertificateAuthority.create("other CA");
  await assert.rejects(
    CertificateAuthority.load(ca.cert, await other.exportKey()),
    /Cannot load the CA: the key is not the certificate's/,
  );
  await assert.rejects(
    CertificateAuthority.load("not a certificate", await ca.exportKey()),
    /Cannot load the CA: Expected a PEM "CERTIFICATE" block/,
  );
});
