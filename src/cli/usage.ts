// A mistake in how the command was called (exit code 2), as opposed to a failed operation (exit code 1).
import { BerthError } from '../errors/berth-error.ts';

export class UsageError extends BerthError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}
