// `berth <command>`: dispatches to the command modules. Exit codes: 0 ok, 1 the operation failed, 2 bad usage or config.
// Commands are imported when used: the agent is a long-running process on a small device and should not
// carry the Controller's code (and vice versa).
import { UsageError } from './usage.ts';

const HELP = `berth — USP Software Module Management for home gateways

usage:
  berth agent --config <file.json>          run the agent in the foreground
  berth ctl [options] <verb> ...            a small USP Controller over MQTT, STOMP or WebSocket (berth ctl --help)
  berth keys generate --out <prefix>        Ed25519 key pair for a publisher
  berth catalog <verb> ...                  a signed app catalog: init, serve, publisher add, rotate-root
  berth app <verb> ...                      package, sign, publish and verify apps: pack, publish, verify
  berth demo                                the whole story on this machine (npm run demo)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'agent': {
      const { runAgentCommand } = await import('./agent-command.ts');
      return runAgentCommand(rest);
    }
    case 'ctl': {
      const { runCtlCommand } = await import('./ctl-command.ts');
      return runCtlCommand(rest);
    }
    case 'keys': {
      const { runKeysCommand } = await import('./keys-command.ts');
      return runKeysCommand(rest);
    }
    case 'catalog': {
      const { runCatalogCommand } = await import('./catalog-command.ts');
      return runCatalogCommand(rest);
    }
    case 'app': {
      const { runAppCommand } = await import('./app-command.ts');
      return runAppCommand(rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo-command.ts');
      return runDemo(rest);
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'\n\n${HELP}`);
  }
}

// Every command returns when its work is done (the agent and the catalog server after SIGTERM), so the process
// exits then: idle keep-alive sockets to a catalog server (fastify keeps them 72 s) must not hold a finished
// `berth app publish` open. Writes to pipes and files are synchronous on Linux, so no output is lost.
main(process.argv.slice(2)).then(
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
