// npm run stress -- NAME [options]: a bounded stress run; exit code 1 when it saw a failure.
//   native   the native kernels under every workload and exit path (bench/stress/native.ts lists the options)
import process from 'node:process';

const [which, ...rest] = process.argv.slice(2);
switch (which) {
  case 'native': {
    const { main } = await import('./native.js');
    process.exitCode = await main(rest);
    break;
  }
  default:
    console.error(`unknown stress run "${which ?? ''}"; available: native`);
    process.exitCode = 2;
}
