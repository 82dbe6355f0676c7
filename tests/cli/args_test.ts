import assert from "node:assert/strict";
import { parseFunctionArgs, typedValue } from "../../cli/args.ts";

Deno.test("cli - argument typing follows Salt's habits", () => {
  assert.equal(typedValue("True"), true);
  assert.equal(typedValue("false"), false);
  assert.equal(typedValue("None"), null);
  assert.equal(typedValue("42"), 42);
  assert.equal(typedValue("-3"), -3);
  assert.equal(typedValue("1.5"), 1.5);
  assert.equal(typedValue("0644"), "0644");
  assert.equal(typedValue("99999999999999999999"), "99999999999999999999");
  assert.deepEqual(typedValue("[1, a]"), [1, "a"]);
  assert.deepEqual(typedValue("{a: 1}"), { a: 1 });
  assert.equal(typedValue("[unclosed"), "[unclosed");
  assert.equal(typedValue("hello world"), "hello world");
});

Deno.test("cli - key=value words are keyword arguments", () => {
  assert.deepEqual(parseFunctionArgs(["tier", "default=standard", "x=1", "a=b=c", "=odd"]), {
    args: ["tier", "=odd"],
    kwargs: { default: "standard", x: 1, a: "b=c" },
  });
});
