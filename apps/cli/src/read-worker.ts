// A reader thread: reads the whole file, parses the lines of its part of the session ids, finalizes
// those sessions and posts them back (see read-events-parallel.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { ReportBuilder } from '@earshot/core';
import { DataError } from './errors.js';
import { type InvalidLine, openSource, readEvents } from './ndjson.js';
import type { WorkerInput, WorkerMessage } from './read-file.js';

const input = workerData as WorkerInput;
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

try {
  const builder = new ReportBuilder(input.options);
  const invalid: InvalidLine[] = [];
  const stats = await readEvents(openSource(input.path), (event) => builder.add(event), {
    name: input.name,
    skipInvalid: input.skipInvalid,
    part: input.part,
    onInvalid: (line) => {
      if (invalid.length < input.maxInvalid) invalid.push(line);
    },
  });
  const { counted, short } = builder.finalize();
  post({ type: 'done', stats, invalid, counted, short });
} catch (error) {
  if (error instanceof DataError) post({ type: 'data-error', message: error.message, line: error.line ?? 0 });
  else throw error;
}
