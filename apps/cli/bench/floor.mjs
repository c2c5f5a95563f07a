// The physical floor of `earshot report`: read the same file, split it into lines the same way and
// JSON.parse each line, nothing else. Prints the number of parsed lines.
import { createReadStream } from 'node:fs';

const input = createReadStream(process.argv[2], { highWaterMark: 1 << 20 });
input.setEncoding('utf8');
let count = 0;
let carry = '';
const line = (text) => {
  if (text.length === 0) return;
  JSON.parse(text);
  count++;
};
for await (const chunk of input) {
  let start = 0;
  let newline = chunk.indexOf('\n');
  if (carry.length > 0 && newline >= 0) {
    line(carry + chunk.slice(0, newline));
    carry = '';
    start = newline + 1;
    newline = chunk.indexOf('\n', start);
  }
  while (newline >= 0) {
    line(chunk.slice(start, newline));
    start = newline + 1;
    newline = chunk.indexOf('\n', start);
  }
  carry = carry + chunk.slice(start);
}
if (carry.length > 0) line(carry);
console.log(count);
