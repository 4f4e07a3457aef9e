// `berth <command>`: dispatches to the command modules. Exit codes: 0 ok, 1 the operation failed, 2 bad usage or config.
import { runBerth } from './commands.ts';
import { UsageError } from './usage.ts';

// Every command returns when its work is done (the agent and the catalog server after SIGTERM), so the process
// exits then: idle keep-alive sockets to a catalog server (fastify keeps them 72 s) must not hold a finished
// `berth app publish` open. Writes to pipes and files are synchronous on Linux, so no output is lost.
runBerth(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`berth: ${error.message}\n`);
      process.exit(2);
    } else {
      process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  },
);
