// pickle.ts: a restricted unpickler. It interprets the pickle opcodes a
// torch.save state dict uses (protocol 2, plus the protocol 3-5 forms of the
// same operations) and never executes anything: GLOBAL only names an entry of
// the caller's allow-list, and REDUCE/BUILD/BINPERSID go to the caller's hooks.
// Any other global or opcode is refused with ERR_CONVBERT_UNSAFE_PICKLE.
// Each opcode consumes at least one byte, so work is bounded by the input size.
import { ConvBertError } from '../errors';
import { quote } from './common';

/** A global the pickle named (`module.name`), already checked against the allow-list. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** dict or OrderedDict; BUILD on it stores instance attributes (OrderedDict's `_metadata`). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  readonly attrs = new Map<string, unknown>();

  constructor(readonly ordered = false) {}
}

export interface UnpickleHooks {
  /** `module.name` strings the pickle may name; anything else is refused. */
  allowedGlobals: ReadonlySet<string>;
  /** REDUCE: call an allowed global with its argument tuple. */
  reduce(fn: PyGlobal, args: PyTuple, offset: number): unknown;
  /** BINPERSID: resolve a persistent id (torch: a storage). */
  persistentLoad?(pid: unknown, offset: number): unknown;
}

// Opcodes refused by name, so the error says what was asked for.
const REFUSED: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x50: 'PERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x6c: 'LIST',
  0x67: 'GET',
  0x70: 'PUT',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Interpret `data` as a pickle under `hooks`. `file` names the source in errors. */
export function unpickle(data: Uint8Array, file: string, hooks: UnpickleHooks): unknown {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opAt = 0;

  const fail = (message: string, code: 'ERR_CONVBERT_WEIGHTS' | 'ERR_CONVBERT_UNSAFE_PICKLE' = 'ERR_CONVBERT_WEIGHTS'): never => {
    throw new ConvBertError(`${file}: pickle: ${message} (at byte ${opAt})`, code);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > data.length) fail(`truncated: needs ${n} more bytes, ${data.length - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to pop to');
    return stack.splice(m as number);
  };
  const str = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(data.subarray(at, at + n));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    // GLOBAL's module and name are newline-terminated; a name longer than 1 KB is not a torch name.
    const nl = data.subarray(pos, pos + 1025).indexOf(0x0a);
    if (nl < 0) fail('unterminated GLOBAL name');
    const end = pos + nl;
    const s = Buffer.from(data.buffer, data.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };
  const u64 = (): number => {
    const at = need(8);
    const v = dv.getBigUint64(at, true);
    if (v > BigInt(data.length)) fail(`length ${v} is past the end of the pickle`);
    return Number(v);
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!hooks.allowedGlobals.has(q)) {
      fail(
        `global ${quote(q, 120)} is not allowed (a state dict needs only torch tensor rebuilders, storages and OrderedDict; this file may try to run code)`,
        'ERR_CONVBERT_UNSAFE_PICKLE',
      );
    }
    return new PyGlobal(module, name);
  };
  const setItems = (dict: unknown, kv: unknown[]): void => {
    if (!(dict instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (dict as PyDict).map.set(kv[i], kv[i + 1]);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) fail('APPEND(S) on something that is not a list');
    for (const x of items) (list as unknown[]).push(x);
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i);
  };

  while (true) {
    opAt = pos;
    const op = data[need(1)];
    switch (op) {
      case 0x80: {
        // PROTO
        const v = data[need(1)];
        if (v > 5) fail(`pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(data[need(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(dv.getUint16(need(2), true));
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true));
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4: little-endian two's complement
        const n = op === 0x8a ? data[need(1)] : dv.getInt32(need(4), true);
        // Building a long BigInt byte by byte is quadratic; no state dict needs more than 64-bit ints.
        if (n < 0 || n > 64) fail(`LONG of ${n} bytes is not a state dict integer`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]);
        if (n > 0 && data[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(dv.getUint32(need(4), true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(data[need(1)]));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
      case 0x54: {
        // BINSTRING
        const n = op === 0x55 ? data[need(1)] : dv.getInt32(need(4), true);
        if (n < 0) fail('negative BINSTRING length');
        const at = need(n);
        stack.push(Buffer.from(data.buffer, data.byteOffset + at, n).toString('latin1'));
        break;
      }
      case 0x43: // SHORT_BINBYTES
      case 0x42: // BINBYTES
      case 0x8e: {
        // BINBYTES8
        const n = op === 0x43 ? data[need(1)] : op === 0x42 ? dv.getUint32(need(4), true) : u64();
        const at = need(n);
        stack.push(data.subarray(at, at + n));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(data[need(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(dv.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(data[need(1)]));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(dv.getUint32(need(4), true)));
        break;
      case 0x30: // POP
        if (marks.length > 0 && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail('REDUCE on something that is not an allowed global');
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        stack.push(hooks.reduce(fn as PyGlobal, args as PyTuple, opAt));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail('BINPERSID without a persistent loader', 'ERR_CONVBERT_UNSAFE_PICKLE');
        stack.push(hooks.persistentLoad!(pid, opAt));
        break;
      }
      case 0x62: {
        // BUILD: only instance attributes on a dict (OrderedDict._metadata); never __setstate__.
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) fail('BUILD is only allowed on an OrderedDict');
        let attrs: unknown = state;
        if (state instanceof PyTuple && state.items.length === 2) attrs = state.items[0];
        if (attrs === null) break;
        if (!(attrs instanceof PyDict)) fail('BUILD state must be a dict of attributes');
        for (const [k, v] of (attrs as PyDict).map) {
          if (typeof k !== 'string') fail('BUILD attribute names must be strings');
          (obj as PyDict).attrs.set(k as string, v);
        }
        break;
      }
      default: {
        const name = REFUSED[op];
        fail(`opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''} is not allowed in a state dict`, 'ERR_CONVBERT_UNSAFE_PICKLE');
      }
    }
  }
}
