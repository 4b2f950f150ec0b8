/**
 * Escaping for human output (one place: every human line the CLI prints goes through
 * `terminalSafe`, names from the data through `printable`). Names come from the data (tar
 * member paths, link targets, image RepoTags, --name and --tag values, arguments echoed in
 * errors): a control character in them must not reach the terminal, where ESC ] 0 ; ... BEL
 * sets the window title and other sequences move the cursor or rewrite the screen. As `ls`
 * and restic do, C0 controls, DEL and C1 controls are shown as escapes (\x1b, \x9b); --json
 * output is written with `jsonText`: JSON.stringify escapes C0, and DEL and C1 are written
 * as \u escapes too (valid JSON that parses back to the exact name, and nothing a terminal
 * acts on).
 *
 * Three levels: `terminalSafe` on every line (main.ts: ctx.out/say/info/verbose), which keeps
 * the newlines and tabs that lay the output out; `oneLine` on text that is one line by
 * contract (errors, warnings, serve's log, progress labels, table cells: main.ts, format.ts,
 * progress-bar.ts, serve.ts); `printable` on each name from the data or the arguments where a
 * command puts it into a line (paths, link targets, snapshot names, tags, hosts, image names,
 * restore targets), so a newline in a name cannot forge a line of output.
 */

/** `s` with C0 (except tab and newline, which lay out the output), DEL and C1 controls escaped. */
export function terminalSafe(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (ch) => esc(ch.charCodeAt(0)));
}

/**
 * `s` as one line: every control character escaped, newline and tab too. For text that is
 * one line by contract (an error message, a warning, a log line, a progress label, a table
 * cell), where a newline could only come from a name in it and would forge a line.
 */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => esc(ch.charCodeAt(0)));
}

/**
 * JSON text of `v` (JSON.stringify) with DEL and C1 controls written as \u escapes, which
 * JSON.stringify leaves raw: the same value when parsed, and safe on a terminal. Every JSON
 * document and JSON line the CLI prints goes through this.
 */
export function jsonText(v: unknown, indent?: number): string {
  return JSON.stringify(v, null, indent).replace(/[\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A name as one printable line: every control character (newline and tab too) and bytes that
 * are not UTF-8 escaped, and a backslash doubled, so the escaped form is unambiguous.
 */
export function printable(name: Buffer | string): string {
  const b = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  let text: string;
  try {
    text = utf8.decode(b);
  } catch {
    // not UTF-8: escape byte by byte where a byte is not part of a valid sequence
    let out = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      out += c >= 0x20 && c < 0x7f ? (c === 0x5c ? '\\\\' : String.fromCharCode(c)) : c < 0x80 ? esc(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
    return out;
  }
  return text.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (ch) => (ch === '\\' ? '\\\\' : esc(ch.charCodeAt(0))));
}

function esc(c: number): string {
  return c === 0x0a ? '\\n' : c === 0x09 ? '\\t' : c === 0x0d ? '\\r' : `\\x${c.toString(16).padStart(2, '0')}`;
}
