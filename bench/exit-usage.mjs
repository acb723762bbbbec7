// Preloaded into the `vpm batch` process the benchmark starts (node --import): at exit, writes the
// process's own peak RSS and CPU time (process.resourceUsage, all threads) to VPM_BENCH_USAGE.
import { writeFileSync } from 'node:fs';

const file = process.env.VPM_BENCH_USAGE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({ maxRssKb: u.maxRSS, userUs: u.userCPUTime, systemUs: u.systemCPUTime }),
    );
  });
}
