/**
 * The one error type multiloss throws for bad input, configuration or files.
 * The CLI prints `message` as a single line and exits with code 2; anything
 * else escaping is a bug.
 */
export type ErrorKind = 'config' | 'data' | 'model' | 'io' | 'training' | 'usage' | 'interrupted';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export class MultilossError extends Error {
  readonly kind: ErrorKind;
  /** The CLI's exit code for this error (2 for bad input; 130/143 for an interrupted run). */
  readonly exitCode: number;
  constructor(kind: ErrorKind, message: string, exitCode = 2) {
    // One line, and no terminal control sequences smuggled in through quoted data.
    super(message.replace(/\s*\n\s*/g, ' ').replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    this.name = 'MultilossError';
    this.kind = kind;
    this.exitCode = exitCode;
  }
}

export function isMultilossError(e: unknown): e is MultilossError {
  return e instanceof MultilossError;
}
