/**
 * The few system calls Node's fs does not offer, made by one long-lived perl process
 * (perl-base is part of every Debian system) talking over a pipe:
 *
 * - utimensat with nanoseconds (Node's utimes keeps microseconds at best, through a double),
 *   not following symlinks;
 * - mknodat for FIFOs and character/block devices;
 * - SEEK_DATA/SEEK_HOLE to find the data regions of a sparse file;
 * - lgetxattr/llistxattr/lsetxattr for paths that are not valid UTF-8 (the xattr package
 *   takes string paths only).
 *
 * Requests are lines of space-separated fields, each field hex (paths are bytes), except
 * "T <hex path> <seconds> <nanoseconds>" (an mtime, decimal: the one request made for every
 * restored entry); each is answered by one line, in order: "ok[ payload]" or
 * "err <errno> <message>". Requests made
 * in one turn of the event loop go out in one write, and perl answers everything it read
 * in one go with one write: a restore of many files sends its mtimes without a round trip
 * each, and awaits them only where the order matters. No shell is involved: perl gets the
 * script with -e.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StowageError } from '../errors.js';

const SCRIPT = String.raw`
use strict; use warnings;
my ($UT, $MK, $LSX, $LGX, $LLX) = map { $_ + 0 } @ARGV;
my $OMIT = (1 << 30) - 2;
binmode STDIN; binmode STDOUT;
sub res { my $r = shift; return $r == -1 ? "err " . ($! + 0) . " $!\n" : "ok\n"; }
sub one {
  my $line = shift;
  if (substr($line, 0, 2) eq 'T ') {
    my (undef, $p, $s, $ns) = split / /, $line;
    return res(syscall($UT, -100, pack('H*', $p), pack('q4', 0, $OMIT, $s, $ns), 0x100));
  }
  my ($op, @f) = map { pack('H*', $_) } split / /, $line, -1;
  if ($op eq 'm') {
    my ($p, $mode, $dev) = @f;
    return res(syscall($MK, -100, $p, $mode + 0, $dev + 0));
  } elsif ($op eq 's') {
    my ($p) = @f;
    my $fh;
    return "err " . ($! + 0) . " $!\n" unless open($fh, '<', $p);
    my @o; my $off = 0;
    while (1) {
      my $d = sysseek($fh, $off, 3); last unless defined $d;
      my $h = sysseek($fh, $d, 4); last unless defined $h;
      push @o, ($d + 0), ($h - $d); $off = $h;
    }
    close $fh;
    return "ok @o\n";
  } elsif ($op eq 'l') {
    my ($p) = @f; my $buf = "\0" x 65536;
    my $n = syscall($LLX, $p, $buf, 65536);
    return $n == -1 ? "err " . ($! + 0) . " $!\n" : "ok " . unpack('H*', substr($buf, 0, $n)) . "\n";
  } elsif ($op eq 'g') {
    my ($p, $name) = @f; my $buf = "\0" x 65536;
    my $n = syscall($LGX, $p, $name, $buf, 65536);
    return $n == -1 ? "err " . ($! + 0) . " $!\n" : "ok " . unpack('H*', substr($buf, 0, $n)) . "\n";
  } elsif ($op eq 'x') {
    my ($p, $name, $v) = @f;
    return res(syscall($LSX, $p, $name, $v, length($v), 0));
  }
  return "err 22 unknown request\n";
}
my $in = '';
while (1) {
  my $n = sysread(STDIN, $in, 1 << 16, length $in);
  last unless $n;
  my $out = '';
  while ((my $i = index($in, "\n")) >= 0) {
    $out .= one(substr($in, 0, $i));
    substr($in, 0, $i + 1) = '';
  }
  while (length $out) {
    my $w = syswrite(STDOUT, $out);
    die "write: $!" unless defined $w;
    substr($out, 0, $w) = '';
  }
}
`;

/** System call numbers: utimensat, mknodat, lsetxattr, lgetxattr, llistxattr. */
const SYSCALLS: Record<string, readonly number[]> = {
  x64: [280, 259, 189, 192, 195],
  arm64: [88, 33, 6, 9, 12],
};

export class FsCallError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request waiting for its answer. */
interface Waiter {
  resolve(payload: string): void;
  reject(e: Error): void;
}

const IGNORE = (): void => undefined;

export class FsHelper {
  /** Started with the first request (a snapshot with nothing sparse needs none). */
  private proc: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting = new Queue<Waiter>();
  /** Who waits for no request to be left unanswered (idle()). */
  private onIdle: (() => void) | undefined;
  private buf = '';
  private out: string[] = [];
  private outBytes = 0;
  private flushing: NodeJS.Immediate | undefined;
  private failed: Error | undefined;
  private closing = false;
  private exited: Promise<void> = Promise.resolve();

  private constructor(private readonly nums: readonly number[]) {}

  /** The perl process, started now if it is not running. */
  private process(): ChildProcessWithoutNullStreams {
    if (this.proc) return this.proc;
    const proc = spawn('perl', ['-e', SCRIPT, ...this.nums.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (s: string) => this.onData(s));
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdin.on('error', () => undefined); // reported through 'exit'
    this.exited = new Promise((resolve) => {
      const fail = (why: string) => {
        this.failed ??= new StowageError('UNSUPPORTED_FORMAT', `the perl helper for file metadata ${why}${stderr ? `: ${stderr.trim()}` : ''}`);
        for (let w = this.waiting.shift(); w; w = this.waiting.shift()) {
          this.answered();
          w.reject(this.failed);
        }
        resolve();
      };
      proc.on('error', (e) => fail(`could not start (${e.message}); tree snapshots need perl`));
      proc.on('exit', (code) => fail(`exited (${code})`));
    });
    return proc;
  }

  /** A helper for this machine (UNSUPPORTED_FORMAT on an architecture without known system call numbers); perl starts with the first request. */
  static start(): FsHelper {
    const nums = SYSCALLS[process.arch];
    if (!nums) throw new StowageError('UNSUPPORTED_FORMAT', `tree snapshots need system call numbers for ${process.arch} (known: ${Object.keys(SYSCALLS).join(', ')})`);
    return new FsHelper(nums);
  }

  private onData(s: string): void {
    this.buf += s;
    let at = 0;
    let nl: number;
    while ((nl = this.buf.indexOf('\n', at)) >= 0) {
      const line = this.buf.slice(at, nl);
      at = nl + 1;
      const w = this.waiting.shift();
      if (!w) continue;
      this.answered();
      if (line.startsWith('ok')) w.resolve(line.slice(3));
      else {
        const m = /^err (\d+) (.*)$/.exec(line);
        w.reject(new FsCallError(Number(m?.[1] ?? 5), m?.[2] ?? line));
      }
    }
    this.buf = this.buf.slice(at);
  }

  private answered(): void {
    if (this.waiting.length === 0) this.onIdle?.();
  }

  private request(fields: readonly (string | Buffer)[]): Promise<string> {
    let line = '';
    for (const f of fields) line += (line ? ' ' : '') + (typeof f === 'string' ? Buffer.from(f, 'latin1') : f).toString('hex');
    return new Promise<string>((resolve, reject) => this.send(line, { resolve, reject }));
  }

  /** Queues a request line; `w` gets its answer. */
  private send(line: string, w: Waiter): void {
    if (this.failed) return w.reject(this.failed);
    if (this.closing) return w.reject(new StowageError('ABORTED', 'the perl helper for file metadata was closed'));
    this.out.push(line);
    this.outBytes += line.length + 1;
    this.waiting.push(w);
    if (this.outBytes >= 1 << 16) this.flush();
    else this.flushing ??= setImmediate(() => this.flush());
  }

  /** Resolves once every request made so far is answered. */
  async idle(): Promise<void> {
    while (this.waiting.length > 0) await new Promise<void>((r) => (this.onIdle = r));
  }

  /** Writes the queued requests in one write. */
  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.out.length === 0) return;
    this.process().stdin.write(this.out.join('\n') + '\n');
    this.out = [];
    this.outBytes = 0;
  }

  /**
   * Sets the modification time of `path`, not following a symlink (atime left as it is), without
   * a promise (a restore makes one for every entry): `mtimeNs` is decimal nanoseconds since the
   * epoch (a tree node's mtime); `onError` gets a failure. idle() tells when all are done.
   */
  setMtimeQueued(path: Buffer, mtimeNs: string, onError: (err: Error) => void): void {
    let sec: string;
    let ns: string;
    if (/^[0-9]{10,19}$/.test(mtimeNs)) {
      sec = mtimeNs.slice(0, -9);
      ns = mtimeNs.slice(-9);
    } else {
      // before 2001-09-09 or negative: exact with BigInt (ns in 0..999999999)
      const t = BigInt(mtimeNs);
      let q = t / 1_000_000_000n;
      let r = t % 1_000_000_000n;
      if (r < 0n) {
        r += 1_000_000_000n;
        q -= 1n;
      }
      sec = q.toString();
      ns = r.toString();
    }
    this.send(`T ${path.toString('hex')} ${sec} ${ns}`, { resolve: IGNORE, reject: onError });
  }

  /** mknod: `mode` includes the file type bits (S_IFIFO, S_IFCHR, S_IFBLK). */
  async mknod(path: Buffer, mode: number, rdev: number): Promise<void> {
    await this.request(['m', path, String(mode), String(rdev)]);
  }

  /** The data regions of a file, [offset, length] in order (SEEK_DATA/SEEK_HOLE). */
  async dataRegions(path: Buffer): Promise<[number, number][]> {
    const out = (await this.request(['s', path])).trim();
    const nums = out ? out.split(' ').map(Number) : [];
    const regions: [number, number][] = [];
    for (let i = 0; i + 1 < nums.length; i += 2) regions.push([nums[i]!, nums[i + 1]!]);
    return regions;
  }

  async listXattrs(path: Buffer): Promise<string[]> {
    const hex = (await this.request(['l', path])).trim();
    return Buffer.from(hex, 'hex')
      .toString('utf8')
      .split('\0')
      .filter((n) => n.length > 0);
  }

  async getXattr(path: Buffer, name: string): Promise<Buffer> {
    return Buffer.from((await this.request(['g', path, Buffer.from(name, 'utf8')])).trim(), 'hex');
  }

  async setXattr(path: Buffer, name: string, value: Buffer): Promise<void> {
    await this.request(['x', path, Buffer.from(name, 'utf8'), value]);
  }

  /** Ends the process once every request is answered. */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    this.proc?.stdin.end();
    await this.exited;
  }
}

/** A FIFO queue with O(1) shift (an array's shift moves every element). */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(v: T): void {
    this.items.push(v);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
}
