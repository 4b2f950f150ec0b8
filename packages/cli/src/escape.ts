/**
 * Escaping for human output (one place: every human line the CLI prints goes through
 * `terminalSafe`, names from the data through `printable`). Names come from the data (tar
 * member paths, link targets, image RepoTags, --name and --tag values, arguments echoed in
 * errors): a control character in them must not reach the terminal, where ESC ] 0 ; ... BEL
 * sets the window title and other sequences move the cursor or rewrite the screen. As `ls`
 * and restic do, C0 controls, DEL and C1 controls are shown as escapes (\x1b, \x9b); --json
 * output needs nothing more (JSON.stringify escapes C0, and C1 are plain characters there).
 */

/** `s` with C0 (except tab and newline, which lay out the output), DEL and C1 controls escaped. */
export function terminalSafe(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (ch) => esc(ch.charCodeAt(0)));
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
