// A mistake in how the command was called (exit code 2), as opposed to a failed operation (exit code 1).
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
