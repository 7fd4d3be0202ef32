//! Reader for PyTorch's legacy (pre-1.6, non-zip) `torch.save` format, enough to convert a
//! `state_dict` of float tensors without PyTorch.
//!
//! The file is a sequence of pickles (protocol 2) followed by raw storage bytes:
//! 1. the magic number `0x1950a86a20f9469cfc6c`, 2. the protocol version 1001, 3. system info
//!    (endianness, type sizes), 4. the object: an `OrderedDict` of tensors, each a call of
//!    `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` whose storage is a
//!    persistent id `('storage', torch.FloatStorage, key, location, numel, None)`,
//! 5. the list of storage keys, 6. per key in that order: a little-endian u64 element count,
//!    then the elements (little-endian).
//!
//! The pickle machine below implements the opcodes `torch.save` emits (protocols 2–4),
//! interprets only the constructors listed above (nothing is executed, no other global is
//! resolved) and checks every length, so a corrupt file gives [`Error::Format`], never a panic.
//! Memoised values are shared immutably: a container mutated after being memoised is copied
//! (torch's writer never relies on the alternative).

use std::collections::HashMap;
use std::rc::Rc;

use super::Weights;
use super::half::f16_to_f32;
use crate::error::{Error, Result};

const MAGIC: u128 = 0x1950a86a20f9469cfc6c;
const PROTOCOL_VERSION: i64 = 1001;

/// A pickled value, as far as a `state_dict` needs.
#[derive(Clone, Debug)]
enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64 (only the file's magic number, in practice).
    BigInt(i128),
    Str(String),
    Tuple(Vec<Rc<Value>>),
    List(Vec<Rc<Value>>),
    Dict(Vec<(Rc<Value>, Rc<Value>)>),
    Global(String, String),
    Storage {
        key: String,
        dtype: StorageType,
    },
    Tensor(TensorRef),
    /// A call of a constructor this reader does not interpret (kept so that unused parts of the
    /// object, e.g. metadata, do not fail the load).
    Opaque,
}

/// Element type of a storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StorageType {
    F32,
    F16,
    F64,
    I64,
}

impl StorageType {
    fn from_class(name: &str) -> Option<Self> {
        match name {
            "FloatStorage" => Some(Self::F32),
            "HalfStorage" => Some(Self::F16),
            "DoubleStorage" => Some(Self::F64),
            "LongStorage" => Some(Self::I64),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Self::F16 => 2,
            Self::F32 => 4,
            Self::F64 | Self::I64 => 8,
        }
    }
}

/// A tensor view of a storage.
#[derive(Clone, Debug)]
struct TensorRef {
    storage: String,
    dtype: StorageType,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

fn bad<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Format(format!(
        "legacy PyTorch file: {}",
        msg.into()
    )))
}

/// Bounds-checked cursor over the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return bad(format!(
                "truncated: need {n} bytes at offset {}, file has {}",
                self.pos,
                self.bytes.len()
            ));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.bytes[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return bad("unterminated text line");
        };
        let s = std::str::from_utf8(&rest[..n]).or_else(|_| bad("text line is not UTF-8"))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn utf8(&mut self, n: usize) -> Result<String> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).or_else(|_| bad("string is not UTF-8"))
    }
}

/// Signed little-endian integer of arbitrary width (LONG1/LONG4), if it fits i128.
fn long_le(b: &[u8]) -> Option<i128> {
    if b.is_empty() {
        return Some(0);
    }
    if b.len() > 16 {
        return None;
    }
    let mut v: i128 = 0;
    for (i, &byte) in b.iter().enumerate() {
        v |= i128::from(byte) << (8 * i);
    }
    let bits = 8 * b.len() as u32;
    if bits < 128 && b[b.len() - 1] & 0x80 != 0 {
        v -= 1i128 << bits;
    }
    Some(v)
}

/// The pickle machine's state.
struct Machine {
    stack: Vec<Rc<Value>>,
    memo: HashMap<usize, Rc<Value>>,
}

impl Machine {
    fn pop(&mut self) -> Result<Rc<Value>> {
        match self.stack.pop() {
            Some(v) if !matches!(*v, Value::Mark) => Ok(v),
            _ => bad("stack underflow"),
        }
    }

    /// Pops everything above the topmost mark, and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Rc<Value>>> {
        let Some(m) = self.stack.iter().rposition(|v| matches!(**v, Value::Mark)) else {
            return bad("no mark on the stack");
        };
        let items = self.stack.split_off(m + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top_mut(&mut self) -> Result<&mut Value> {
        match self.stack.last_mut() {
            Some(v) => Ok(Rc::make_mut(v)),
            None => bad("stack underflow"),
        }
    }

    fn memo_put(&mut self, idx: usize) -> Result<()> {
        let Some(top) = self.stack.last() else {
            return bad("memoising an empty stack");
        };
        self.memo.insert(idx, top.clone());
        Ok(())
    }

    fn memo_get(&mut self, idx: usize) -> Result<()> {
        match self.memo.get(&idx) {
            Some(v) => {
                self.stack.push(v.clone());
                Ok(())
            }
            None => bad(format!("memo entry {idx} used before it was set")),
        }
    }

    fn extend(&mut self, items: Vec<Rc<Value>>) -> Result<()> {
        match self.top_mut()? {
            Value::List(l) => {
                l.extend(items);
                Ok(())
            }
            _ => bad("APPEND to a non-list"),
        }
    }

    fn set_items(&mut self, items: Vec<Rc<Value>>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return bad("SETITEMS with an odd number of values");
        }
        let Value::Dict(d) = self.top_mut()? else {
            return bad("SETITEM on a non-dict");
        };
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }
}

/// Runs one pickle from `cur`, returning the value STOP leaves.
fn unpickle(cur: &mut Cursor<'_>) -> Result<Rc<Value>> {
    let mut m = Machine {
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    let mut next_memo = 0usize;
    loop {
        let op = cur.byte()?;
        match op {
            0x80 => {
                cur.byte()?; // PROTO n
            }
            0x95 => {
                cur.array::<8>()?; // FRAME length: framing is transparent here
            }
            b'.' => return m.pop(),
            b'(' => m.stack.push(Rc::new(Value::Mark)),
            b'N' => m.stack.push(Rc::new(Value::None)),
            0x88 => m.stack.push(Rc::new(Value::Bool(true))),
            0x89 => m.stack.push(Rc::new(Value::Bool(false))),
            b'K' => m.stack.push(Rc::new(Value::Int(i64::from(cur.byte()?)))),
            b'M' => m
                .stack
                .push(Rc::new(Value::Int(i64::from(u16::from_le_bytes(
                    cur.array()?,
                ))))),
            b'J' => m
                .stack
                .push(Rc::new(Value::Int(i64::from(i32::from_le_bytes(
                    cur.array()?,
                ))))),
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    usize::from(cur.byte()?)
                } else {
                    cur.u32()?
                };
                let Some(v) = long_le(cur.take(n)?) else {
                    return bad("integer too large");
                };
                let v = i64::try_from(v).map_or(Value::BigInt(v), Value::Int);
                m.stack.push(Rc::new(v));
            }
            b'I' | b'L' => {
                let line = cur.line()?;
                let t = line.trim_end_matches('L');
                let v = match t {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    _ => Value::Int(t.parse().or_else(|_| bad("bad INT literal"))?),
                };
                m.stack.push(Rc::new(v));
            }
            b'G' => {
                cur.array::<8>()?; // BINFLOAT: no float is needed
                m.stack.push(Rc::new(Value::Opaque));
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => cur.u32()?,
                    0x8c => usize::from(cur.byte()?),
                    _ => usize::try_from(u64::from_le_bytes(cur.array()?))
                        .or_else(|_| bad("string too long"))?,
                };
                let s = cur.utf8(n)?;
                m.stack.push(Rc::new(Value::Str(s)));
            }
            b'T' | b'U' | b'B' | b'C' => {
                let n = if matches!(op, b'T' | b'B') {
                    cur.u32()?
                } else {
                    usize::from(cur.byte()?)
                };
                cur.take(n)?; // byte strings are not needed
                m.stack.push(Rc::new(Value::Opaque));
            }
            b')' => m.stack.push(Rc::new(Value::Tuple(Vec::new()))),
            b't' => {
                let items = m.pop_mark()?;
                m.stack.push(Rc::new(Value::Tuple(items)));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if m.stack.len() < n {
                    return bad("stack underflow in TUPLEn");
                }
                let items = m.stack.split_off(m.stack.len() - n);
                if items.iter().any(|v| matches!(**v, Value::Mark)) {
                    return bad("mark inside TUPLEn");
                }
                m.stack.push(Rc::new(Value::Tuple(items)));
            }
            b']' => m.stack.push(Rc::new(Value::List(Vec::new()))),
            b'l' => {
                let items = m.pop_mark()?;
                m.stack.push(Rc::new(Value::List(items)));
            }
            b'a' => {
                let v = m.pop()?;
                m.extend(vec![v])?;
            }
            b'e' => {
                let items = m.pop_mark()?;
                m.extend(items)?;
            }
            b'}' => m.stack.push(Rc::new(Value::Dict(Vec::new()))),
            b'd' => {
                let items = m.pop_mark()?;
                m.stack.push(Rc::new(Value::Dict(Vec::new())));
                m.set_items(items)?;
            }
            b's' => {
                let v = m.pop()?;
                let k = m.pop()?;
                m.set_items(vec![k, v])?;
            }
            b'u' => {
                let items = m.pop_mark()?;
                m.set_items(items)?;
            }
            b'c' => {
                let module = cur.line()?.to_string();
                let name = cur.line()?.to_string();
                m.stack.push(Rc::new(Value::Global(module, name)));
            }
            0x93 => {
                let name = m.pop()?;
                let module = m.pop()?;
                match (&*module, &*name) {
                    (Value::Str(a), Value::Str(b)) => {
                        m.stack.push(Rc::new(Value::Global(a.clone(), b.clone())))
                    }
                    _ => return bad("STACK_GLOBAL without strings"),
                }
            }
            b'R' | 0x81 => {
                let args = m.pop()?;
                let callable = m.pop()?;
                let v = call(&callable, &args)?;
                m.stack.push(Rc::new(v));
            }
            b'b' => {
                m.pop()?; // BUILD: object state (e.g. a state_dict's `_metadata`) is not needed
            }
            b'Q' => {
                let pid = m.pop()?;
                let v = persistent(&pid)?;
                m.stack.push(Rc::new(v));
            }
            b'q' => {
                let i = usize::from(cur.byte()?);
                m.memo_put(i)?;
            }
            b'r' => {
                let i = cur.u32()?;
                m.memo_put(i)?;
            }
            0x94 => {
                m.memo_put(next_memo)?;
                next_memo += 1;
            }
            b'h' => {
                let i = usize::from(cur.byte()?);
                m.memo_get(i)?;
            }
            b'j' => {
                let i = cur.u32()?;
                m.memo_get(i)?;
            }
            b'0' => {
                m.pop()?;
            }
            b'2' => {
                let Some(top) = m.stack.last().cloned() else {
                    return bad("DUP on an empty stack");
                };
                m.stack.push(top);
            }
            _ => {
                return bad(format!(
                    "unsupported pickle opcode {op:#04x} at offset {}",
                    cur.pos - 1
                ));
            }
        }
    }
}

fn as_usize(v: &Value, what: &str) -> Result<usize> {
    match v {
        Value::Int(i) => usize::try_from(*i).or_else(|_| bad(format!("negative {what}"))),
        _ => bad(format!("{what} is not an integer")),
    }
}

fn as_dims(v: &Value, what: &str) -> Result<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => {
            items.iter().map(|i| as_usize(i, what)).collect()
        }
        _ => bad(format!("{what} is not a tuple")),
    }
}

/// Interprets a REDUCE: the few constructors a state_dict uses; anything else is opaque.
fn call(callable: &Value, args: &Value) -> Result<Value> {
    let Value::Global(module, name) = callable else {
        return Ok(Value::Opaque);
    };
    let Value::Tuple(args) = args else {
        return bad("call arguments are not a tuple");
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") if args.is_empty() => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") if args.len() >= 4 => {
            let Value::Storage { key, dtype } = &*args[0] else {
                return bad("tensor without a storage");
            };
            let size = as_dims(&args[2], "tensor size")?;
            let stride = as_dims(&args[3], "tensor stride")?;
            if size.len() != stride.len() {
                return bad("tensor size and stride differ in rank");
            }
            Ok(Value::Tensor(TensorRef {
                storage: key.clone(),
                dtype: *dtype,
                offset: as_usize(&args[1], "storage offset")?,
                size,
                stride,
            }))
        }
        ("torch._utils", "_rebuild_parameter") if !args.is_empty() => Ok((*args[0]).clone()),
        _ => Ok(Value::Opaque),
    }
}

/// A storage key as written by `torch.save`: a string, or an integer in old files.
fn storage_key(v: &Value) -> Result<String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        _ => bad("storage key is neither a string nor an integer"),
    }
}

/// Interprets a persistent id `('storage', <class>, key, location, numel, view_metadata)`.
fn persistent(pid: &Value) -> Result<Value> {
    let Value::Tuple(t) = pid else {
        return bad("persistent id is not a tuple");
    };
    match t.as_slice() {
        [tag, class, key, ..] if matches!(&**tag, Value::Str(s) if s == "storage") => {
            let Value::Global(_, class) = &**class else {
                return bad("storage type is not a class");
            };
            let Some(dtype) = StorageType::from_class(class) else {
                return bad(format!("unsupported storage type {class}"));
            };
            Ok(Value::Storage {
                key: storage_key(key)?,
                dtype,
            })
        }
        _ => bad("unsupported persistent id"),
    }
}

/// Reads the storages that follow the pickles: per key, a u64 count and the elements.
fn storages<'a>(
    cur: &mut Cursor<'a>,
    keys: &Value,
    types: &HashMap<String, StorageType>,
) -> Result<HashMap<String, (StorageType, &'a [u8])>> {
    let Value::List(keys) = keys else {
        return bad("storage key list is not a list");
    };
    let mut out = HashMap::new();
    for k in keys {
        let key = storage_key(k)?;
        let Some(&dtype) = types.get(&key) else {
            return bad(format!("storage {key} is listed but no tensor uses it"));
        };
        let count = usize::try_from(u64::from_le_bytes(cur.array()?))
            .or_else(|_| bad("storage too large"))?;
        let len = count
            .checked_mul(dtype.size())
            .ok_or_else(|| Error::Format("legacy PyTorch file: storage size overflows".into()))?;
        out.insert(key, (dtype, cur.take(len)?));
    }
    Ok(out)
}

/// Gathers a tensor's elements (any strides) as f32.
fn gather(key: &str, t: &TensorRef, data: &[u8]) -> Result<Vec<f32>> {
    let elements = data.len() / t.dtype.size();
    let count = t
        .size
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Format(format!("tensor `{key}`: size overflows")))?;
    if count == 0 {
        return Ok(Vec::new());
    }
    // Largest element index touched: offset + Σ (size−1)·stride.
    let last = t
        .size
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |a, (&d, &s)| {
            a.checked_add((d - 1).checked_mul(s)?)
        });
    if last.is_none_or(|l| l >= elements) {
        return bad(format!(
            "tensor `{key}` reaches past the end of its storage"
        ));
    }
    let read = |i: usize| -> f32 {
        let b = &data[i * t.dtype.size()..(i + 1) * t.dtype.size()];
        match t.dtype {
            StorageType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            StorageType::F16 => f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
            StorageType::F64 => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
            StorageType::I64 => i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
        }
    };
    let mut out = Vec::with_capacity(count);
    let mut index = vec![0usize; t.size.len()];
    for _ in 0..count {
        let pos: usize = t.offset
            + index
                .iter()
                .zip(&t.stride)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.push(read(pos));
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < t.size[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

/// Parses a legacy `torch.save` file holding a `state_dict` (a dict of tensors, possibly
/// nested under a `"state_dict"` key) into f32 [`Weights`]. Integer tensors named
/// `*.num_batches_tracked` are skipped; other integer tensors are an error.
pub fn parse(bytes: &[u8]) -> Result<Weights> {
    if bytes.starts_with(b"PK\x03\x04") {
        return bad(
            "this is a zip-format checkpoint (PyTorch ≥ 1.6); export it to safetensors with \
             tools/export_torchvision.py instead",
        );
    }
    let mut cur = Cursor { bytes, pos: 0 };
    match &*unpickle(&mut cur)? {
        Value::BigInt(v) if *v == MAGIC as i128 => {}
        _ => return bad("missing magic number (not a legacy torch.save file)"),
    }
    match &*unpickle(&mut cur)? {
        Value::Int(PROTOCOL_VERSION) => {}
        _ => return bad("unsupported protocol version"),
    }
    if let Value::Dict(info) = &*unpickle(&mut cur)? {
        let little = info.iter().any(|(k, v)| {
            matches!(&**k, Value::Str(s) if s == "little_endian")
                && matches!(**v, Value::Bool(true))
        });
        if !little {
            return bad("big-endian files are not supported");
        }
    } else {
        return bad("system info is not a dict");
    }
    let root = unpickle(&mut cur)?;
    let dict = match &*root {
        Value::Dict(d) => d.clone(),
        _ => return bad("the saved object is not a dict of tensors"),
    };
    // Accept {"state_dict": {...}} checkpoints too.
    let dict = match dict
        .iter()
        .find(|(k, _)| matches!(&**k, Value::Str(s) if s == "state_dict"))
    {
        Some((_, v)) => match &**v {
            Value::Dict(d) => d.clone(),
            _ => dict,
        },
        None => dict,
    };
    let mut tensors = Vec::new();
    let mut types = HashMap::new();
    for (k, v) in &dict {
        let Value::Str(key) = &**k else {
            return bad("a state_dict key is not a string");
        };
        if let Value::Tensor(t) = &**v {
            types.insert(t.storage.clone(), t.dtype);
            tensors.push((key.clone(), t.clone()));
        }
    }
    let keys = unpickle(&mut cur)?;
    let data = storages(&mut cur, &keys, &types)?;
    let mut weights = Weights::new();
    for (key, t) in tensors {
        if t.dtype == StorageType::I64 {
            if key.ends_with("num_batches_tracked") {
                continue;
            }
            return Err(Error::Dtype {
                key,
                dtype: "int64".into(),
            });
        }
        let Some((_, bytes)) = data.get(&t.storage) else {
            return bad(format!(
                "tensor `{key}` uses storage {} that has no data",
                t.storage
            ));
        };
        let values = gather(&key, &t, bytes)?;
        weights.insert(&key, t.size.clone(), values)?;
    }
    Ok(weights)
}
