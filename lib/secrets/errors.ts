/**
 * The errors of the secrets layer.
 * @module
 */

/**
 * Text that should hold a sealed value and does not: a plaintext or malformed value under
 * `!encrypted`, a placeholder inside a longer string.
 */
export class SecretFormatError extends SyntaxError {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecretFormatError";
  }
}

/**
 * A sealed value that cannot be opened (sealed for another key, or altered), or a placeholder
 * whose secret is missing.
 */
export class SecretOpenError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecretOpenError";
  }
}
