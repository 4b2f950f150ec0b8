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
 * Requests are records of NUL-separated fields ended by two NULs (paths are bytes and
 * never contain NUL); each is answered by one line, in order: "ok[ payload]" or
 * "err <errno> <message>". No shell is involved: perl gets the script with -e.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StowageError } from '../errors.js';

const SCRIPT = String.raw`
use strict; use warnings;
my ($UT, $MK, $LSX, $LGX, $LLX) = map { $_ + 0 } @ARGV;
$| = 1; binmode STDIN; binmode STDOUT;
$/ = "\0\0";
sub reply { my $r = shift; if ($r == -1) { print "err ", ($! + 0), " $!\n"; } else { print "ok\n"; } }
while (my $rec = <STDIN>) {
  chomp $rec;
  my @f = split /\0/, $rec, -1;
  my $op = shift @f;
  if ($op eq 't') {
    my ($p, $as, $ans, $ms, $mns) = @f;
    my $ts = pack('q4', $as, $ans, $ms, $mns);
    reply(syscall($UT, -100, $p, $ts, 0x100));
  } elsif ($op eq 'm') {
    my ($p, $mode, $dev) = @f;
    reply(syscall($MK, -100, $p, $mode + 0, $dev + 0));
  } elsif ($op eq 's') {
    my ($p) = @f;
    my $fh;
    if (!open($fh, '<', $p)) { print "err ", ($! + 0), " $!\n"; next; }
    my @o; my $off = 0;
    while (1) {
      my $d = sysseek($fh, $off, 3); last unless defined $d;
      my $h = sysseek($fh, $d, 4); last unless defined $h;
      push @o, ($d + 0), ($h - $d); $off = $h;
    }
    close $fh;
    print "ok @o\n";
  } elsif ($op eq 'l') {
    my ($p) = @f; my $buf = "\0" x 65536;
    my $n = syscall($LLX, $p, $buf, 65536);
    if ($n == -1) { print "err ", ($! + 0), " $!\n"; } else { print "ok ", unpack('H*', substr($buf, 0, $n)), "\n"; }
  } elsif ($op eq 'g') {
    my ($p, $name) = @f; my $buf = "\0" x 65536;
    my $n = syscall($LGX, $p, $name, $buf, 65536);
    if ($n == -1) { print "err ", ($! + 0), " $!\n"; } else { print "ok ", unpack('H*', substr($buf, 0, $n)), "\n"; }
  } elsif ($op eq 'x') {
    my ($p, $name, $hex) = @f; my $v = pack('H*', $hex);
    reply(syscall($LSX, $p, $name, $v, length($v), 0));
  } else { print "err 22 unknown request\n"; }
}
`;

/** System call numbers: utimensat, mknodat, lsetxattr, lgetxattr, llistxattr. */
const SYSCALLS: Record<string, readonly number[]> = {
  x64: [280, 259, 189, 192, 195],
  arm64: [88, 33, 6, 9, 12],
};

/** UTIME_OMIT: leave that time as it is. */
const UTIME_OMIT = (1 << 30) - 2;

export class FsCallError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

export class FsHelper {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (payload: string) => void; reject: (e: Error) => void }[] = [];
  private buf = '';
  private failed: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor() {
    const nums = SYSCALLS[process.arch];
    if (!nums) throw new StowageError('UNSUPPORTED_FORMAT', `tree snapshots need system call numbers for ${process.arch} (known: ${Object.keys(SYSCALLS).join(', ')})`);
    this.proc = spawn('perl', ['-e', SCRIPT, ...nums.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('latin1');
    this.proc.stdout.on('data', (s: string) => this.onData(s));
    let stderr = '';
    this.proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    this.proc.stdin.on('error', () => undefined); // reported through 'exit'
    this.exited = new Promise((resolve) => {
      const fail = (why: string) => {
        this.failed ??= new StowageError('UNSUPPORTED_FORMAT', `the perl helper for file metadata ${why}${stderr ? `: ${stderr.trim()}` : ''}`);
        for (const w of this.waiting.splice(0)) w.reject(this.failed);
        resolve();
      };
      this.proc.on('error', (e) => fail(`could not start (${e.message}); tree snapshots need perl`));
      this.proc.on('exit', (code) => fail(`exited (${code})`));
    });
  }

  static start(): FsHelper {
    return new FsHelper();
  }

  private onData(s: string): void {
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      if (line.startsWith('ok')) w.resolve(line.slice(3));
      else {
        const m = /^err (\d+) (.*)$/.exec(line);
        w.reject(new FsCallError(Number(m?.[1] ?? 5), m?.[2] ?? line));
      }
    }
  }

  private async request(fields: readonly (string | Buffer)[]): Promise<string> {
    if (this.failed) throw this.failed;
    const parts: Buffer[] = [];
    for (const f of fields) parts.push(typeof f === 'string' ? Buffer.from(f, 'latin1') : f, Buffer.from([0]));
    parts.push(Buffer.from([0]));
    const p = new Promise<string>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.proc.stdin.write(Buffer.concat(parts))) await new Promise((r) => this.proc.stdin.once('drain', r));
    return p;
  }

  /** Sets the modification time (ns since the epoch) of `path`, not following a symlink; atime is left as is. */
  async setMtime(path: Buffer, mtimeNs: bigint): Promise<void> {
    const s = mtimeNs / 1_000_000_000n;
    let ns = mtimeNs % 1_000_000_000n;
    let sec = s;
    if (ns < 0n) {
      ns += 1_000_000_000n;
      sec -= 1n;
    }
    await this.request(['t', path, '0', String(UTIME_OMIT), sec.toString(), ns.toString()]);
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
    return Buffer.from(hex, 'hex').toString('utf8').split('\0').filter((n) => n.length > 0);
  }

  async getXattr(path: Buffer, name: string): Promise<Buffer> {
    return Buffer.from((await this.request(['g', path, Buffer.from(name, 'utf8')])).trim(), 'hex');
  }

  async setXattr(path: Buffer, name: string, value: Buffer): Promise<void> {
    await this.request(['x', path, Buffer.from(name, 'utf8'), value.toString('hex')]);
  }

  /** Ends the process once every request is answered. */
  async close(): Promise<void> {
    this.proc.stdin.end();
    await this.exited;
  }
}
