// The berth command's table: every command, the verbs below it and their usage. runBerth dispatches through it and
// answers `--help` from it for every command and verb at once, before a verb's own option parser (strict, so it
// would refuse `--help` as an unknown option) sees the arguments. A verb added to a command's help is covered.
import { UsageError } from './usage.ts';

/** What `--help` prints for a command or a verb, and its verbs by name. */
export interface CommandHelp {
  readonly usage: string;
  readonly verbs?: Readonly<Record<string, CommandHelp>>;
}

export interface CommandModule {
  run(argv: readonly string[]): Promise<number>;
  readonly help: CommandHelp;
}

export interface CliCommand {
  readonly name: string;
  /** Its line in `berth --help`, after `berth <name>`. */
  readonly synopsis: string;
  /** Imported when used: the agent on a small device should not carry the Controller's code, nor the reverse. */
  load(): Promise<CommandModule>;
}

export const COMMANDS: readonly CliCommand[] = [
  {
    name: 'agent',
    synopsis: '--config <file.json>          run the agent in the foreground',
    load: async () => {
      const { runAgentCommand, AGENT_HELP } = await import('./agent-command.ts');
      return { run: runAgentCommand, help: AGENT_HELP };
    },
  },
  {
    name: 'ctl',
    synopsis: '[options] <verb> ...            a small USP Controller over MQTT, STOMP or WebSocket (berth ctl --help)',
    load: async () => {
      const { runCtlCommand, CTL_COMMAND_HELP } = await import('./ctl-command.ts');
      return { run: runCtlCommand, help: CTL_COMMAND_HELP };
    },
  },
  {
    name: 'keys',
    synopsis: 'generate --out <prefix>        Ed25519 key pair for a publisher',
    load: async () => {
      const { runKeysCommand, KEYS_HELP } = await import('./keys-command.ts');
      return { run: runKeysCommand, help: KEYS_HELP };
    },
  },
  {
    name: 'catalog',
    synopsis: '<verb> ...                  a signed app catalog: init, serve, publisher add, rotate-root',
    load: async () => {
      const { runCatalogCommand, CATALOG_HELP } = await import('./catalog-command.ts');
      return { run: runCatalogCommand, help: CATALOG_HELP };
    },
  },
  {
    name: 'app',
    synopsis: '<verb> ...                      package, sign, publish and verify apps: pack, publish, verify',
    load: async () => {
      const { runAppCommand, APP_HELP } = await import('./app-command.ts');
      return { run: runAppCommand, help: APP_HELP };
    },
  },
  {
    name: 'demo',
    synopsis: '                                the whole story on this machine (npm run demo)',
    load: async () => {
      const { runDemo, DEMO_HELP } = await import('./demo-command.ts');
      return { run: runDemo, help: DEMO_HELP };
    },
  },
];

export const BERTH_HELP = `berth — USP Software Module Management for home gateways

usage:
${COMMANDS.map((command) => `  berth ${command.name} ${command.synopsis}`.trimEnd()).join('\n')}

Every command and verb answers --help (berth app verify --help).
`;

/**
 * A command's help from the usage line of each of its verbs, keyed by the verb's words (`'publisher add'`): each
 * verb prints its own lines, a verb with verbs below it (`publisher`) those of all of them, the command all.
 */
export function helpOfVerbs(lines: Readonly<Record<string, string>>): CommandHelp {
  const node = (prefix: readonly string[]): CommandHelp => {
    const below = Object.keys(lines).filter((key) => {
      const words = key.split(' ');
      return words.length > prefix.length && prefix.every((word, i) => words[i] === word);
    });
    const usage = `usage:\n${Object.entries(lines).filter(([key]) => key === prefix.join(' ') || below.includes(key)).map(([, line]) => line).join('')}`;
    const next = [...new Set(below.map((key) => key.split(' ')[prefix.length]!))];
    return next.length === 0 ? { usage } : { usage, verbs: Object.fromEntries(next.map((word) => [word, node([...prefix, word])])) };
  };
  return node([]);
}

/** `--help` or `-h` among the arguments, before a `--` that ends the options. */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** The usage of the deepest verb the arguments name (options and other arguments are passed over). */
export function helpFor(help: CommandHelp, argv: readonly string[]): string {
  let current = help;
  for (const arg of argv) {
    if (arg.startsWith('-')) continue;
    const verbs = current.verbs;
    if (verbs === undefined || !Object.hasOwn(verbs, arg)) break;
    current = verbs[arg]!;
  }
  return current.usage;
}

/** `berth <command> …`: the exit code, or a UsageError (exit code 2). Usage texts go to `out` (stdout). */
export async function runBerth(argv: readonly string[], out: { write(text: string): unknown } = process.stdout): Promise<number> {
  const [command, ...rest] = argv;
  const entry = COMMANDS.find((candidate) => candidate.name === command);
  if (entry !== undefined) {
    const module = await entry.load();
    if (asksForHelp(rest)) {
      out.write(helpFor(module.help, rest));
      return 0;
    }
    return module.run(rest);
  }
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      out.write(BERTH_HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'\n\n${BERTH_HELP}`);
  }
}
