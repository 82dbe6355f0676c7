/** A target expression that cannot be compiled; the message says where and what was expected. */
export class TargetError extends SyntaxError {
  /** The expression as given. */
  readonly expression: string;
  /** 0-based offset of the problem, when it has one. */
  readonly position?: number;

  /** Build the error for `expression`. */
  constructor(expression: string, reason: string, position?: number, options?: ErrorOptions) {
    super(
      `Cannot parse target "${expression}": ${reason}${
        position === undefined ? "" : ` at ${position}`
      }`,
      options,
    );
    this.name = "TargetError";
    this.expression = expression;
    this.position = position;
  }
}
