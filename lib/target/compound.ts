/**
 * Compound expressions: terms joined by `and`, `or`, `not` and parentheses, with `not` binding
 * tighter than `and`, and `and` tighter than `or`. Terms are separated by whitespace; a
 * parenthesis is its own token, or is peeled off the start or end of a term when unbalanced
 * there, so `(web* or db*)` groups while `E@web1-(prod|dev)` keeps its regex group.
 * @module
 */
import { TargetError } from "./error.ts";

/** One token, with its offset in the expression. */
export interface Token {
  text: string;
  at: number;
}

/** The parse tree. */
export type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; operand: Node }
  | { kind: "term"; text: string; at: number };

const count = (s: string, c: string) => s.split(c).length - 1;

/** Split `expr` into tokens. */
export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(expr); m; m = re.exec(expr)) {
    let text = m[0];
    let at = m.index;
    const tail: Token[] = [];
    while (text.length > 1 && text.startsWith("(") && count(text, "(") > count(text, ")")) {
      out.push({ text: "(", at });
      text = text.slice(1);
      at++;
    }
    while (text.length > 1 && text.endsWith(")") && count(text, ")") > count(text, "(")) {
      tail.unshift({ text: ")", at: at + text.length - 1 });
      text = text.slice(0, -1);
    }
    out.push({ text, at }, ...tail);
  }
  return out;
}

const OPERATORS = new Set(["and", "or", "not"]);

/** True when `expr` reads as a compound expression (an operator word or a parenthesis). */
export function looksCompound(expr: string): boolean {
  return tokenize(expr).some((t) =>
    OPERATORS.has(t.text.toLowerCase()) || t.text === "(" || t.text === ")"
  );
}

/** Parse `expr` into a tree; throws {@linkcode TargetError} with the position of the problem. */
export function parseCompound(expr: string): Node {
  const tokens = tokenize(expr);
  let i = 0;
  const peek = () => tokens[i];
  const word = (t: Token | undefined) => t?.text.toLowerCase();
  const end = expr.length;

  function orExpr(): Node {
    let left = andExpr();
    while (word(peek()) === "or") {
      i++;
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  }
  function andExpr(): Node {
    let left = notExpr();
    while (word(peek()) === "and") {
      i++;
      left = { kind: "and", left, right: notExpr() };
    }
    return left;
  }
  function notExpr(): Node {
    if (word(peek()) === "not") {
      i++;
      return { kind: "not", operand: notExpr() };
    }
    return primary();
  }
  function primary(): Node {
    const t = peek();
    if (!t) {
      const prev = tokens[i - 1];
      throw new TargetError(
        expr,
        prev ? `expected a target after "${prev.text}"` : "the expression is empty",
        end,
      );
    }
    if (t.text === "(") {
      i++;
      if (i >= tokens.length) throw new TargetError(expr, "unbalanced parenthesis", t.at);
      const inner = orExpr();
      if (peek()?.text !== ")") throw new TargetError(expr, "unbalanced parenthesis", t.at);
      i++;
      return inner;
    }
    if (t.text === ")") throw new TargetError(expr, "unbalanced parenthesis", t.at);
    if (OPERATORS.has(t.text.toLowerCase())) {
      throw new TargetError(expr, `expected a target, found "${t.text}"`, t.at);
    }
    i++;
    return { kind: "term", text: t.text, at: t.at };
  }

  const tree = orExpr();
  const rest = peek();
  if (rest) {
    if (rest.text === ")") throw new TargetError(expr, "unbalanced parenthesis", rest.at);
    throw new TargetError(expr, `expected "and" or "or", found "${rest.text}"`, rest.at);
  }
  return tree;
}
