import assert from "node:assert/strict";
import { parse } from "yaml";
import { BUCKETS, openBucket, provisionStorage } from "../../lib/bus/mod.ts";
import {
  type BoxKey,
  createBoxKey,
  MASTER_PUBLIC_KEY_ID,
  openAtRest,
  openMasterSealed,
  openPeelSecrets,
  peelSecretsRecord,
  publishMasterPublicKey,
  publishPeelSecrets,
  readMasterPublicKey,
  redactSecrets,
  removePeelSecrets,
  sanitizeSettingsFile,
  sealAtRest,
  sealToMaster,
  SecretFormatError,
  SecretOpenError,
  substituteSecrets,
} from "../../lib/secrets/mod.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

const master = createBoxKey();
const web01 = createBoxKey();
const web02 = createBoxKey();
const seal = (v: string) => sealToMaster(v, master.publicKey);

/** Matches an error of class `cls` whose message matches `re`. */
const fails = (cls: new (...args: never[]) => Error, re: RegExp) => (e: unknown) =>
  e instanceof cls && re.test((e as Error).message);

/** Flip one bit of the byte at `i` (from the end when negative). */
function flip(bytes: Uint8Array, i: number): Uint8Array {
  const out = bytes.slice();
  const at = i < 0 ? out.length + i : i;
  out[at]! ^= 1;
  return out;
}

Deno.test("secrets - a literal sealed to the master opens with its key only, altered is refused", () => {
  const literal = seal("hunter2 ünïcode");
  assert.match(literal, /^zbox1:[A-Za-z0-9+/]+=*$/);
  assert.equal(openMasterSealed(literal, master), "hunter2 ünïcode");
  assert.notEqual(seal("hunter2 ünïcode"), literal, "a fresh sender key and nonce each time");
  assert.throws(() => openMasterSealed(literal, web01), fails(SecretOpenError, /another master/));
  const bytes = Uint8Array.fromBase64(literal.slice("zbox1:".length));
  for (const i of [0, 40, -1]) {
    const altered = "zbox1:" + flip(bytes, i).toBase64();
    assert.throws(() => openMasterSealed(altered, master), fails(SecretOpenError, /altered/));
  }
  assert.throws(
    () => openMasterSealed("zbox1:AAAA", master),
    fails(SecretFormatError, /malformed/),
  );
  assert.throws(() => sealToMaster("", master.publicKey), fails(SecretFormatError, /empty/));
});

Deno.test("secrets - sanitize: key path ids from nested YAML, placeholders quoted, nothing sealed left", () => {
  const pw = seal("db-password");
  const token = seal("api-token");
  const item = seal("item-secret");
  const dup = seal("dup");
  const text = [
    "# database",
    "db:",
    "  host: {{ grains['fqdn'] }}",
    `  password: !encrypted ${pw}  # rotated in May`,
    "  replicas:",
    "    - name: r1",
    `      password: !encrypted '${item}'`,
    "{% if grains['os'] == 'Debian' %}",
    "api:",
    '  "token key":',
    `    !encrypted "${token}"`,
    "  note: |",
    "    keys look like !encrypted zbox1:AAAA in files",
    "{% endif %}",
    "{{ peel_id }}:",
    `  secret: &s !encrypted ${dup}`,
    `other: !encrypted ${dup}`,
    `other: !encrypted ${dup}`,
  ].join("\n");
  const out = sanitizeSettingsFile("apps/web.zy", text);
  assert.deepEqual(out.secrets.map(({ id, line }) => ({ id, line })), [
    { id: "apps/web.zy:db.password", line: 4 },
    { id: "apps/web.zy#7", line: 7 },
    { id: "apps/web.zy:api.token key", line: 11 },
    { id: "apps/web.zy#16", line: 16 },
    { id: "apps/web.zy#17", line: 17 },
    { id: "apps/web.zy#18", line: 18 },
  ]);
  assert.deepEqual(out.secrets.map((s) => s.literal), [pw, item, token, dup, dup, dup]);
  const lines = out.text.split("\n");
  assert.equal(
    lines[3],
    '  password: "__ZESTER_SECRET:apps/web.zy:db.password__"  # rotated in May',
  );
  assert.equal(lines[6], '      password: "__ZESTER_SECRET:apps/web.zy#7__"');
  assert.equal(lines[10], '    "__ZESTER_SECRET:apps/web.zy:api.token key__"');
  assert.equal(lines[12], "    keys look like !encrypted zbox1:AAAA in files", "block scalar kept");
  assert.equal(lines[15], '  secret: &s "__ZESTER_SECRET:apps/web.zy#16__"');
  for (const literal of [pw, token, item, dup]) assert.ok(!out.text.includes(literal));
  // Without its Jinja lines the text is YAML whose values are the placeholders.
  const yaml = parse(lines.filter((l) => !l.includes("{")).slice(0, -2).join("\n"));
  assert.equal(yaml.db.password, "__ZESTER_SECRET:apps/web.zy:db.password__");
  assert.equal(yaml.api["token key"], "__ZESTER_SECRET:apps/web.zy:api.token key__");
});

Deno.test("secrets - plaintext under !encrypted is an error naming file and line, not the value", () => {
  const cases: Array<[string, RegExp]> = [
    [
      "a:\n  b: !encrypted hunter2\n",
      /^etc\/app\.zy:2: value under !encrypted: not a sealed value \(expected "zbox1:<base64>"/,
    ],
    [
      "a: !encrypted 'zbox1:hunter2'\n",
      /^etc\/app\.zy:1: value under !encrypted: malformed sealed value/,
    ],
    [
      "a:\n\n  b: !encrypted\n",
      /^etc\/app\.zy:3: !encrypted has no value; expected a sealed value/,
    ],
    ["a: {b: !encrypted hunter2}\n", /^etc\/app\.zy:1: !encrypted inside a flow collection/],
    ["a: !encrypted |\n  hunter2\n", /^etc\/app\.zy:1: !encrypted on a block scalar/],
    [
      "{% if x %}a: !encrypted hunter2{% endif %}\n",
      /^etc\/app\.zy:1: !encrypted on a line that starts with a Jinja tag/,
    ],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => sanitizeSettingsFile("etc/app.zy", text), (e: unknown) => {
      assert.ok(e instanceof SecretFormatError, String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes("hunter2"), e.message);
      return true;
    });
  }
});

Deno.test("secrets - sealed for web-01, opened by web-01 only; altered values refused", async () => {
  const record = await peelSecretsRecord(
    { "db.password": "s3cret", "api.token": "t0ken" },
    web01.publicKey,
    master,
  );
  assert.deepEqual(await openPeelSecrets(record, web01), {
    "db.password": "s3cret",
    "api.token": "t0ken",
  });
  await assert.rejects(
    openPeelSecrets(record, web02),
    fails(
      SecretOpenError,
      /Cannot open secret "db\.password": it was not sealed for this peel's key/,
    ),
  );
  for (const i of [-1, -20]) {
    await assert.rejects(
      openPeelSecrets(flip(record, i), web01),
      fails(SecretOpenError, /altered/),
    );
  }
  await assert.rejects(
    openPeelSecrets(new Uint8Array([0xc1]), web01),
    fails(SecretOpenError, /Invalid secrets record/),
  );
});

Deno.test("secrets - substitute whole values; leftover and embedded placeholders refused", () => {
  const opened = { "db.password": "s3cret" };
  const settings = {
    db: {
      password: "__ZESTER_SECRET:db.password__",
      port: 5432,
      hosts: ["a", "__ZESTER_SECRET:db.password__"],
    },
  };
  assert.deepEqual(substituteSecrets(settings, opened), {
    db: { password: "s3cret", port: 5432, hosts: ["a", "s3cret"] },
  });
  assert.equal(settings.db.password, "__ZESTER_SECRET:db.password__", "the input is not changed");
  assert.throws(
    () =>
      substituteSecrets({
        a: "__ZESTER_SECRET:db.password__",
        b: { c: "__ZESTER_SECRET:api.token__" },
      }, opened),
    fails(
      SecretOpenError,
      /Settings "b\.c" needs secret "api\.token", which this peel cannot open/,
    ),
  );
  assert.throws(
    () => substituteSecrets({ dsn: "pw=__ZESTER_SECRET:db.password__" }, opened),
    fails(
      SecretFormatError,
      /"dsn" holds a secret placeholder inside a longer string: placeholders are terminal values only/,
    ),
  );
  assert.throws(
    () => substituteSecrets({ "__ZESTER_SECRET:db.password__": 1 }, opened),
    fails(SecretFormatError, /inside a key/),
  );
});

Deno.test("secrets - redact replaces every opened value in strings and keys with <sealed>", () => {
  const opened = { a: "s3cret", b: "s3cret-longer", c: "x.y*" };
  const shown = redactSecrets({
    cmd: "mysql -ps3cret-longer && echo s3cret",
    "s3cret": ["x.y* x.yy", 7],
  }, opened);
  assert.deepEqual(shown, {
    cmd: "mysql -p<sealed> && echo <sealed>",
    "<sealed>": ["<sealed> x.yy", 7],
  });
  assert.equal(redactSecrets("nothing here", {}), "nothing here");
});

Deno.test("secrets - at rest: round trip with the peel's key; another key and altered bytes refused", () => {
  const data = new TextEncoder().encode(JSON.stringify({ db: { password: "s3cret" } }));
  const sealed = sealAtRest(data, web01);
  assert.deepEqual(openAtRest(sealed, web01), data);
  assert.ok(!new TextDecoder().decode(sealed).includes("s3cret"));
  assert.throws(
    () => openAtRest(sealed, web02),
    fails(SecretOpenError, /Cannot open sealed settings/),
  );
  assert.throws(() => openAtRest(flip(sealed, -1), web01), fails(SecretOpenError, /altered/));
  assert.throws(() => openAtRest(data, web01), fails(SecretOpenError, /not sealed at all/));
});

Deno.test("secrets - a peel's record is written only when its secrets change, and removed with its history", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  try {
    await provisionStorage(await nc.jetstreamManager());
    const kv = await openBucket(nc, BUCKETS.secrets);
    await assert.rejects(readMasterPublicKey(kv), fails(SecretOpenError, /No master public key/));
    await publishMasterPublicKey(kv, master);
    await publishMasterPublicKey(kv, master);
    assert.equal((await kv.get(MASTER_PUBLIC_KEY_ID))!.revision, 1, "written once");
    assert.deepEqual(await readMasterPublicKey(kv), master.publicKey);

    const secrets = { "db.password": "s3cret" };
    const wrote = async (key: BoxKey, values: Record<string, string>, replaces?: number) =>
      (await publishPeelSecrets(kv, "web-01", key.publicKey, values, master, replaces)).wrote;
    assert.equal(await wrote(web01, secrets), true);
    const first = (await kv.get("web-01"))!.revision;
    assert.equal(await wrote(web01, { ...secrets }), false);
    assert.equal((await kv.get("web-01"))!.revision, first);
    // A new value, a new peel key, one secret more: each writes.
    assert.equal(await wrote(web01, { "db.password": "new" }), true);
    assert.equal(await wrote(web02, { "db.password": "new" }), true);
    // A stale `replaces` (the record moved on) reads and compares: the same secrets stay.
    assert.equal(await wrote(web02, { "db.password": "new" }, first), false);
    const current = (await kv.get("web-01"))!.revision;
    assert.deepEqual(
      await publishPeelSecrets(
        kv,
        "web-01",
        web02.publicKey,
        { "db.password": "new", x: "y" },
        master,
        current,
      ),
      { revision: current + 1, wrote: true },
    );
    assert.deepEqual(await openPeelSecrets((await kv.get("web-01"))!.value, web02), {
      "db.password": "new",
      x: "y",
    });

    await removePeelSecrets(kv, "web-01");
    const history = [];
    for await (const e of await kv.history({ key: "web-01" })) history.push(e.operation);
    assert.deepEqual(history, ["PURGE"], "no sealed revision is kept");
  } finally {
    await closeClient(nc);
  }
});
