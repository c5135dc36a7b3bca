/** `tsx scripts/forwarder.ts <listen-port> <target-port>...`: see scripts/lib/forwarder.ts. */
import { startForwarder } from './lib/forwarder.js';

const [listen, ...targets] = process.argv.slice(2).map(Number);
if (!listen || targets.length === 0) {
  process.stderr.write('usage: forwarder.ts <listen-port> <target-port>...\n');
  process.exit(2);
}
startForwarder(listen, targets);
