// A reader thread (see read-file.ts): reads one byte range of the file into its own store, reports
// what it saw, then finalizes the session ids no other thread saw and hands back the others packed.
import { parentPort, workerData } from 'node:worker_threads';
import { EventStore } from '@earshot/core';
import { type InvalidLine, LineError, openSource, readEvents } from './ndjson.js';
import {
  type FinalizeRequest,
  finalizeStore,
  readFailure,
  storeAdder,
  type WorkerInput,
  type WorkerMessage,
} from './read-file.js';

const input = workerData as WorkerInput;
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);

const store = new EventStore();
const invalid: InvalidLine[] = [];
const source = openSource(input.path, Math.max(0, input.range.start - 1));
try {
  const stats = await readEvents(source, storeAdder(store, input.ranges), {
    skipInvalid: input.skipInvalid,
    range: input.range,
    sizeBytes: input.sizeBytes,
    onEstimate: (lines) => store.reserve(lines * 1.02),
    onInvalid: (line) => {
      if (invalid.length < input.maxInvalid) invalid.push(line);
    },
  });
  post({ type: 'read', stats, invalid, ids: [...store.sessions.keys()] });
} catch (error) {
  if (!(error instanceof LineError)) throw error;
  post(readFailure(error));
} finally {
  source.close();
}

port.once('message', (request: FinalizeRequest) => {
  const shared = new Set(request.shared);
  const finalized = finalizeStore(store, input.settings, shared);
  const packed = [...shared].filter((id) => store.sessions.has(id)).map((id) => store.export(id));
  post({ type: 'done', finalized, shared: packed });
  port.close();
});
