// c4-js: a Connect Four player in JavaScript (Node.js), an ordinary
// stdin/stdout program (sample AI for judger; relay.py connects it to the
// game, docs/samples.md).
//
// Reads "move <me> <board>" lines and answers each with a column: a
// negamax search 4 plies deep over a score of the open windows of four.
// Deterministic: ties go to the column nearest the centre.
'use strict';
const readline = require('readline');

const COLS = 7, ROWS = 6;
const ORDER = [3, 2, 4, 1, 5, 0, 6];

function dropRow(b, c) {
  for (let r = ROWS - 1; r >= 0; r--) if (b[r * COLS + c] === '.') return r;
  return -1;
}

function wins(b, c, r, who) {
  for (const [dc, dr] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
    let n = 1;
    for (const s of [1, -1]) {
      let x = c + s * dc, y = r + s * dr;
      while (x >= 0 && x < COLS && y >= 0 && y < ROWS && b[y * COLS + x] === who) {
        n++; x += s * dc; y += s * dr;
      }
    }
    if (n >= 4) return true;
  }
  return false;
}

// Windows of four holding only one side's discs: 1, 4, 16 points for 1-3 discs.
function score(b, me, other) {
  let total = 0;
  for (let r = 0; r < ROWS; r++)
    for (let c = 0; c < COLS; c++)
      for (const [dc, dr] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
        const ec = c + 3 * dc, er = r + 3 * dr;
        if (ec >= COLS || er < 0 || er >= ROWS) continue;
        let mine = 0, theirs = 0;
        for (let k = 0; k < 4; k++) {
          const v = b[(r + k * dr) * COLS + c + k * dc];
          if (v === me) mine++; else if (v === other) theirs++;
        }
        if (!theirs && mine) total += 4 ** (mine - 1);
        if (!mine && theirs) total -= 4 ** (theirs - 1);
      }
  return total;
}

function negamax(b, me, other, depth) {
  let best = -Infinity, bestCol = -1;
  for (const c of ORDER) {
    const r = dropRow(b, c);
    if (r < 0) continue;
    let v;
    if (wins(b, c, r, me)) v = 100000 + depth;
    else {
      b[r * COLS + c] = me;
      v = depth > 1 ? -negamax(b, other, me, depth - 1)[0] : score(b, me, other);
      b[r * COLS + c] = '.';
    }
    if (v > best) { best = v; bestCol = c; }
  }
  return bestCol < 0 ? [0, -1] : [best, bestCol];
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const f = line.trim().split(/\s+/);
  if (f[0] === 'move') {
    const me = f[1], other = me === '0' ? '1' : '0';
    // One line per answer; Node writes pipes synchronously on Linux.
    process.stdout.write(negamax(f[2].split(''), me, other, 4)[1] + '\n');
  } else if (f[0] === 'end') {
    console.error(`c4-js: match points ${f[1]} to ${f[2]}`);
    rl.close();
  }
});
