import { describe, expect, it } from 'vitest';
import { jsonText, oneLine, printable, terminalSafe } from './escape.js';

describe('escaping for the terminal', () => {
  const hostile = 'a\u001b]0;t\u0007b\nc\td\u007fe\u009b2Jf\\g';
  it('terminalSafe keeps newlines and tabs, escapes the rest', () => {
    expect(terminalSafe(hostile)).toBe('a\\x1b]0;t\\x07b\nc\td\\x7fe\\x9b2Jf\\g');
  });
  it('oneLine and printable escape every control character; printable doubles backslashes', () => {
    expect(oneLine(hostile)).toBe('a\\x1b]0;t\\x07b\\nc\\td\\x7fe\\x9b2Jf\\g');
    expect(printable(hostile)).toBe('a\\x1b]0;t\\x07b\\nc\\td\\x7fe\\x9b2Jf\\\\g');
    expect(printable(Buffer.from([0x61, 0xff, 0x1b]))).toBe('a\\xff\\x1b');
  });
  it('jsonText: no raw control character, and it parses back to the exact value', () => {
    const v = { name: hostile, tags: ['\u0085', '\u009f\u007f'] };
    for (const indent of [undefined, 2]) {
      const t = jsonText(v, indent);
      expect(t).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // newlines: the indented layout only
      expect(JSON.parse(t)).toEqual(v);
    }
    expect(jsonText('\u009b')).toBe('"\\u009b"');
  });
});
