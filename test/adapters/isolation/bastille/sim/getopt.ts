/**
 * POSIX getopt(3) as the FreeBSD tools call it: options in order, clustered
 * letters, "u:" takes a value (attached or next word), "--" ends options, the
 * first operand ends them too; an unknown letter prints "TOOL: illegal option
 * -- c" and the tool's usage.
 */
export function getopt(argv: string[], optstring: string, usage: () => never): { opts: [string, string][]; rest: string[] } {
  const opts: [string, string][] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let k = 1; k < a.length; k++) {
      const c = a[k] as string;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') {
        process.stderr.write(`${process.env.SIM_TOOL ?? 'tool'}: illegal option -- ${c}\n`);
        usage();
      }
      if (optstring[at + 1] === ':') {
        const v = k + 1 < a.length ? a.slice(k + 1) : argv[++i];
        if (v === undefined) {
          process.stderr.write(`option requires an argument -- ${c}\n`);
          usage();
        }
        opts.push([c, v]);
        break;
      }
      opts.push([c, '']);
    }
    i++;
  }
  return { opts, rest: argv.slice(i) };
}

/** libxo's argument handling (xo_parse_args): `--libxo json` / `--libxo=json` / `--libxo:json` taken out before getopt. */
export function takeLibxo(argv: string[]): { json: boolean; args: string[] } {
  let json = false;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--libxo') json = (argv[++i] ?? '').split(',').includes('json');
    else if (a.startsWith('--libxo=') || a.startsWith('--libxo:')) json = a.slice(8).split(',').includes('json');
    else args.push(a);
  }
  return { json, args };
}
