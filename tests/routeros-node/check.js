// check.js: reads a simulated router (tests/integration/routeros_sim.py)
// with npm's node-routeros, a RouterOS API client nobody here wrote, and
// prints what it got as JSON in the shape of `routeros_sim.py replies`:
// every print command's rows, a count-only, and a ?query with a .proplist.
// Usage: node check.js HOST PORT USER PASSWORD COMMAND...
// (COMMAND: a print path such as /interface/print; rows are compared by the
// caller, tests/integration/test_routeros_node.sh). node-routeros 1.6.9 does
// not know v7's `!empty` reply, so menus that are empty are not asked.
'use strict';
const { RouterOSAPI } = require('node-routeros');

async function main() {
  const [host, port, user, password, ...commands] = process.argv.slice(2);
  const api = new RouterOSAPI({ host, port: Number(port), user, password, timeout: 10 });
  await api.connect();
  const out = {};
  // Concurrent commands: node-routeros tags each one on the same connection.
  await Promise.all(commands.map(async (c) => {
    out[c] = await api.write(c);
  }));
  const count = await api.write('/interface/print', ['=count-only=']);
  out['/interface/print count-only'] = Number(count[0].ret);
  out['/interface/print ?running=true proplist name,rx-byte'] =
    await api.write('/interface/print', ['=.proplist=name,rx-byte', '?running=true']);
  await api.close();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`node-routeros: ${err && (err.message || err.errno) || err}\n`);
  process.exit(1);
});
