// Runs local-aws-sqs (an in-memory Amazon SQS API) on a loopback port.
//
//   node internal/localsqs/server.mjs [--port N] [--host 127.0.0.1] [--exit-with-stdin]
//
// --port 0 (the default) lets the kernel choose a free port. Once the server
// accepts connections it prints one JSON line to stdout:
//
//   {"endpoint":"http://127.0.0.1:PORT","port":PORT}
//
// --exit-with-stdin makes the server exit when its standard input closes, so a
// parent that dies without cleaning up (a killed `go test`) never leaves it
// behind. The Go package internal/localsqs always passes it.
//
// --host must be an IPv4 address or a name: local-aws-sqs builds queue URLs
// from it without IPv6 brackets.
//
// The server is started with the AWS behaviours that only slow tests down
// turned off (waiting 60 s before re-creating a deleted queue's name, and one
// second before a new queue can be used), and with shims for ReceiveMessage
// (see below). Run by hand, it stops on Ctrl-C.
import { parseArgs } from "node:util";
import { Readable } from "node:stream";
import { createServer } from "node:http";
import { createRequestHandler } from "local-aws-sqs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "exit-with-stdin": { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`server.mjs: --port must be an integer in [0, 65535], got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

if (values.host.includes(":")) {
  console.error(`server.mjs: --host must be an IPv4 address or a name, got ${JSON.stringify(values.host)}`);
  process.exit(2);
}

const options = {
  port,
  hostname: values.host,
  region: "us-east-1",
  validateDlqDestination: true,
  emulateQueueCreationLifecycle: false,
  emulateLazyQueues: false,
};
const { service, requestHandler } = createRequestHandler(options);

// Two shims make ReceiveMessage behave like SQS; they rely only on the
// request handler reading req.headers and req's data/end events, and writing
// res.statusCode, res.setHeader and res.end, which is all 2.0.2 does.
//
// 1. local-aws-sqs reads only the deprecated AttributeNames of a JSON
//    ReceiveMessage request; current SDKs send MessageSystemAttributeNames,
//    which it would silently ignore. The shim merges the two.
// 2. Its long poll waits the whole WaitTimeSeconds unless MaxNumberOfMessages
//    messages turn up, and collects a message again if its visibility timeout
//    expires during the wait (the same message twice in one response). SQS
//    returns as soon as any message is there. The shim long-polls with
//    WaitTimeSeconds=0 receives (each collects for about 40 ms) instead.
const receiveTarget = "AmazonSQS.ReceiveMessage";
const pollInterval = 25;

async function readBody(stream) {
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// callHandler runs the request handler on a body and captures its answer.
async function callHandler(headers, body) {
  const req = Readable.from([body]);
  req.headers = headers;
  req.method = "POST";
  req.url = "/";
  const out = { statusCode: 200, headers: {}, body: "" };
  const res = {
    get statusCode() {
      return out.statusCode;
    },
    set statusCode(code) {
      out.statusCode = code;
    },
    setHeader(name, value) {
      out.headers[name.toLowerCase()] = value;
    },
  };
  await new Promise((resolve) => {
    res.end = (chunk) => {
      out.body = chunk ?? "";
      resolve();
    };
    requestHandler(req, res).catch((err) => {
      out.statusCode = 500;
      out.body = JSON.stringify({ __type: "InternalFailure", message: String(err) });
      resolve();
    });
  });
  return out;
}

function hasMessages(body) {
  if (!body) {
    return false;
  }
  try {
    const parsed = JSON.parse(body);
    return Array.isArray(parsed?.Messages) && parsed.Messages.length > 0;
  } catch {
    return true;
  }
}

function queueWaitSeconds(input) {
  if ("WaitTimeSeconds" in input) {
    return input.WaitTimeSeconds;
  }
  const name = typeof input.QueueUrl === "string" ? input.QueueUrl.split("/").filter(Boolean).pop() : undefined;
  return service.Queues.find((q) => q.QueueName === name)?.ReceiveMessageWaitTimeSeconds ?? 0;
}

async function receive(req, res) {
  const body = await readBody(req);
  let input;
  try {
    input = JSON.parse(body.toString("utf8"));
  } catch {
    input = undefined;
  }
  let answer;
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    answer = await callHandler(req.headers, body);
  } else {
    if (Array.isArray(input.MessageSystemAttributeNames)) {
      const names = new Set([...(Array.isArray(input.AttributeNames) ? input.AttributeNames : []), ...input.MessageSystemAttributeNames]);
      delete input.MessageSystemAttributeNames;
      input.AttributeNames = [...names];
    }
    const wait = Number(queueWaitSeconds(input));
    if (Number.isInteger(wait) && wait > 0 && wait <= 20) {
      input.WaitTimeSeconds = 0;
    }
    const deadline = Date.now() + (input.WaitTimeSeconds === 0 ? wait * 1000 : 0);
    const shimmed = Buffer.from(JSON.stringify(input), "utf8");
    for (;;) {
      answer = await callHandler(req.headers, shimmed);
      if (answer.statusCode !== 200 || hasMessages(answer.body) || Date.now() >= deadline || res.destroyed) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pollInterval));
    }
  }
  res.statusCode = answer.statusCode;
  for (const [name, value] of Object.entries(answer.headers)) {
    res.setHeader(name, value);
  }
  res.end(answer.body);
}

async function handle(req, res) {
  if (req.headers["x-amz-target"] === receiveTarget) {
    return receive(req, res);
  }
  return requestHandler(req, res);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error("server.mjs: request failed:", err);
    if (!res.headersSent) {
      res.statusCode = 500;
    }
    res.end();
  });
});

server.on("error", (err) => {
  console.error(`server.mjs: cannot listen on ${values.host}:${port}: ${err.message}`);
  process.exit(1);
});

server.listen(port, values.host, () => {
  const actual = server.address().port;
  // Queue URLs are built from the service's port; with --port 0 it must
  // learn the one the kernel chose.
  service.PORT = actual;
  process.stdout.write(JSON.stringify({ endpoint: `http://${values.host}:${actual}`, port: actual }) + "\n");
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}

process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

if (values["exit-with-stdin"]) {
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.on("error", shutdown);
  process.stdin.resume();
}
