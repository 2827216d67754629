#!/usr/bin/env node
// Runs statemachine/replay.asl.json (or any definition) locally with the npm
// package aws-local-stepfunctions, with every Task state overridden to POST
// its Lambda payload to a local endpoint instead of invoking a function in
// AWS. The endpoint answers as the replay function would: 200 with the
// function's result, or a non-2xx status with {"errorType", "errorMessage"}
// for a function error, which becomes the task's Error and Cause as the
// lambda:invoke integration reports them.
//
//   node statemachine/run-local.mjs --endpoint http://127.0.0.1:PORT/invoke \
//     [--definition statemachine/replay.asl.json] [--input '{"options":{...}}'] \
//     [--wait-ms 10] [--retry-ms 10] [--substitute ReplayFunctionArn=arn:...]
//
// It prints one JSON line, {"status": "SUCCEEDED", "output": ...} or
// {"status": "FAILED", "error": ..., "cause": ...}, with "states", the names
// of the states entered in order, and exits 0 either way; it exits 2 for a
// bad command line or a definition the library refuses.
//
// aws-local-stepfunctions 3 declares Node.js 22; the one newer API it uses,
// Promise.withResolvers, is supplied below when Node.js lacks it.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');

function usage(message) {
  process.stderr.write(`run-local: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      definition: { type: 'string', default: new URL('./replay.asl.json', import.meta.url).pathname },
      endpoint: { type: 'string' },
      input: { type: 'string', default: '{}' },
      'wait-ms': { type: 'string' },
      'retry-ms': { type: 'string' },
      substitute: { type: 'string', multiple: true, default: [] },
    },
  }));
} catch (err) {
  usage(err.message);
}
if (!args.endpoint) usage('--endpoint is required');

// DefinitionSubstitutions, as CloudFormation applies them: ${Name} → value.
let text = await readFile(args.definition, 'utf8');
const substitutions = { ReplayFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:gwtap-replay' };
for (const kv of args.substitute) {
  const i = kv.indexOf('=');
  if (i <= 0) usage(`--substitute ${kv}: want Name=value`);
  substitutions[kv.slice(0, i)] = kv.slice(i + 1);
}
text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name) => (name in substitutions ? substitutions[name] : whole));
const definition = JSON.parse(text);

// Every Task (at any depth) calls the endpoint; every Wait is shortened.
const tasks = {};
const waits = {};
const retries = {};
function visit(states) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') tasks[name] = (input) => invoke(name, input);
    if (state.Type === 'Wait' && args['wait-ms'] !== undefined) waits[name] = Number(args['wait-ms']);
    if (state.Retry && args['retry-ms'] !== undefined) retries[name] = Number(args['retry-ms']);
    for (const branch of state.Branches ?? []) visit(branch.States);
    if (state.ItemProcessor) visit(state.ItemProcessor.States);
    if (state.Iterator) visit(state.Iterator.States);
  }
}
visit(definition.States);

// invoke emulates arn:aws:states:::lambda:invoke: the task's input is
// {FunctionName, Payload}; the result wraps the function's answer.
async function invoke(state, input) {
  const payload = input && typeof input === 'object' && 'Payload' in input ? input.Payload : input;
  const resp = await fetch(args.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Gwtap-State': state },
    body: JSON.stringify(payload ?? {}),
  });
  const body = await resp.text();
  if (!resp.ok) {
    let detail;
    try {
      detail = JSON.parse(body);
    } catch {
      detail = { errorType: 'Lambda.ServiceException', errorMessage: body };
    }
    const err = new Error(JSON.stringify({ errorType: detail.errorType, errorMessage: detail.errorMessage }));
    err.name = detail.errorType || 'Lambda.Unknown';
    throw err;
  }
  return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: JSON.parse(body) };
}

let machine;
try {
  machine = new StateMachine(definition);
} catch (err) {
  usage(`definition refused: ${err.message}`);
}
const execution = machine.run(JSON.parse(args.input), {
  overrides: { taskResourceLocalHandlers: tasks, waitTimeOverrides: waits, retryIntervalOverrides: retries },
});
const states = [];
const logs = (async () => {
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered') states.push(ev.state.name);
  }
})();

let report;
try {
  const output = await execution.result;
  report = { status: 'SUCCEEDED', output };
} catch (err) {
  if (!(err instanceof ExecutionError)) throw err;
  // ExecutionError wraps the state's error: its cause carries Error and Cause.
  const inner = err.cause ?? err;
  report = { status: 'FAILED', error: inner.name, cause: inner.message };
}
await logs;
report.states = states;
process.stdout.write(JSON.stringify(report) + '\n');
