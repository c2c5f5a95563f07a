// Preloaded into a benchmarked child (node --require): writes the child's own getrusage figures
// (max RSS in KiB, CPU in microseconds) to the file named by EARSHOT_BENCH_RUSAGE when it exits.
const { writeFileSync } = require('node:fs');

const out = process.env.EARSHOT_BENCH_RUSAGE;
if (out) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({ maxRssKiB: usage.maxRSS, userUs: usage.userCPUTime, systemUs: usage.systemCPUTime }),
    );
  });
}
