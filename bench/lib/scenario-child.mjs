// Runs ONE scenario for ONE system in a fresh process, then exits.
//   node lib/scenario-child.mjs --system <spec> --scenario <id> --params '<json>' --soft-limit-ms N
// Prints exactly one line "@@RESULT <json>". The driver kills it after the hard limit.
import { makeAdapter, parseArgs, now } from './util.mjs';
import { SCENARIOS, DEFAULTS } from './scenarios.mjs';
import { pgQuery } from './env.mjs';
import { round } from './stats.mjs';

const args = parseArgs(process.argv.slice(2));
const spec = args.system;
const scenarioId = args.scenario;
const params = { ...DEFAULTS, ...(args.params ? JSON.parse(args.params) : {}) };
const softLimitMs = Number(args['soft-limit-ms'] ?? 110000);

const emit = (obj) => process.stdout.write('@@RESULT ' + JSON.stringify(obj) + '\n');

async function main() {
  const scenario = SCENARIOS[scenarioId];
  if (!scenario) throw new Error(`unknown scenario ${scenarioId}`);
  const deadline = now() + softLimitMs;
  const adapter = await makeAdapter(spec);
  const setupOptions = scenario.setupOptions?.(params) ?? {};
  const tSetup = now();
  await adapter.setup({ fresh: true, ...setupOptions });
  const setupMs = now() - tSetup;
  // Flush dirty buffers so that a checkpoint caused by the previous run's (or the untimed
  // pre-fill's) WAL does not land in the measured part.
  const settle = async () => {
    if (adapter.backend === 'postgres') await pgQuery('CHECKPOINT');
  };
  await settle();
  let result;
  let error = null;
  try {
    result = await scenario.run(adapter, params, { deadline, spec, setupOptions, settle });
  } catch (e) {
    error = String(e?.stack ?? e);
    result = { metric: null };
  }
  emit({ system: spec, scenario: scenarioId, ...result, error, setupMs: round(setupMs), options: adapter.describe() });
  const tTear = now();
  try {
    await Promise.race([
      adapter.teardown({ drop: true }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('teardown timeout')), 15000)),
    ]);
  } catch (e) {
    process.stderr.write(`[${spec}] teardown: ${e?.message ?? e}\n`);
  }
  process.stderr.write(`[${spec}] ${scenarioId} teardown ${round(now() - tTear)} ms\n`);
  process.exit(0);
}

main().catch((e) => {
  emit({ system: spec, scenario: scenarioId, metric: null, error: String(e?.stack ?? e) });
  process.exit(1);
});
