//! The embedder object: images → L2-normalised vectors.
//!
//! Thread safety: one `rvcnn_embedder` may be used by any number of threads at once for
//! `rvcnn_embedder_embed*`, `rvcnn_embedder_dim` (each call uses its own workspace from an
//! internal pool); `rvcnn_embedder_destroy` must not race with any other call on it.

#![allow(non_camel_case_types)] // C names: the header is generated from these items.

use std::ffi::{CStr, c_char};
use std::path::Path;

use ruvector_cnn_model::{
    Embedder, EmbedderOptions, Error, Fit, ImageView, Network, Output, PixelFormat, Preprocess,
    Weights, pretrained, quantized,
};

use crate::boundary::{Failure, at_least, guard, invalid, non_null};
use crate::status::rvcnn_status;

/// An embedder (opaque): a network, its preprocessing and per-thread workspaces.
pub struct rvcnn_embedder {
    inner: Embedder,
}

/// Pixel layout of an 8-bit image (`rvcnn_image.format`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_pixel_format {
    /// One byte of luminance per pixel.
    RVCNN_PIXEL_GRAY8 = 0,
    /// Red, green, blue.
    RVCNN_PIXEL_RGB8 = 1,
    /// Red, green, blue, straight alpha.
    RVCNN_PIXEL_RGBA8 = 2,
    /// Blue, green, red.
    RVCNN_PIXEL_BGR8 = 3,
    /// Blue, green, red, straight alpha.
    RVCNN_PIXEL_BGRA8 = 4,
}

/// Which network output is the embedding (`rvcnn_embedder_options.output`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_output {
    /// Global-average-pooled features (default).
    RVCNN_OUTPUT_POOLED = 0,
    /// Input of the last classifier layer.
    RVCNN_OUTPUT_PENULTIMATE = 1,
    /// Class scores (models loaded with a classifier only).
    RVCNN_OUTPUT_LOGITS = 2,
}

/// How images are fitted to the square input (`rvcnn_embedder_options.fit`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_fit {
    /// Shorter side to size/0.875, centred square crop (torchvision ImageNet eval; default).
    RVCNN_FIT_CENTER_CROP = 0,
    /// Longer side to size, padded with the mean colour.
    RVCNN_FIT_LETTERBOX = 1,
    /// Each axis to size.
    RVCNN_FIT_STRETCH = 2,
}

/// Embedder options. Initialise with `rvcnn_embedder_options_default`, then change fields.
/// Enumerated fields are `uint32_t` holding the enum's value, so that any value from C is
/// defined behaviour (invalid ones are rejected with `RVCNN_STATUS_INVALID_ARGUMENT`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct rvcnn_embedder_options {
    /// `sizeof(rvcnn_embedder_options)`, set by `rvcnn_embedder_options_default`.
    pub struct_size: u32,
    /// An `rvcnn_output` value.
    pub output: u32,
    /// An `rvcnn_fit` value.
    pub fit: u32,
    /// Side of the square network input, 1..=4096 (default 224).
    pub input_size: u32,
    /// Non-zero to L2-normalise embeddings (default 1).
    pub l2_normalize: u32,
    /// Threads `rvcnn_embedder_embed_batch` uses (default 1; 0 = all cores).
    pub threads: u32,
    /// Cores each image's convolutions are split over (default 1; 0 = all cores).
    pub image_threads: u32,
}

/// An 8-bit image in caller memory.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_image {
    /// First byte of the first row.
    pub data: *const u8,
    /// Bytes readable from `data` (at least `stride · (height − 1) + width · bytes per pixel`).
    pub data_len: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next.
    pub stride: usize,
    /// An `rvcnn_pixel_format` value.
    pub format: u32,
}

// Layout checks mirrored by `_Static_assert`s in tests/c/capi_tests.c (the pointer-holding
// image struct on 64-bit ABIs; wasm32 has its own, which cbindgen's header follows).
const _: () = assert!(std::mem::size_of::<rvcnn_embedder_options>() == 28);
const _: () = assert!(std::mem::align_of::<rvcnn_embedder_options>() == 4);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<rvcnn_image>() == 40);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::align_of::<rvcnn_image>() == 8);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Io { .. } => rvcnn_status::RVCNN_STATUS_IO,
            Error::Format(_)
            | Error::MissingKey(_)
            | Error::UnexpectedKeys(_)
            | Error::Shape { .. }
            | Error::Dtype { .. }
            | Error::NonFinite { .. } => rvcnn_status::RVCNN_STATUS_FORMAT,
            Error::InvalidArgument(_) => rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT,
            Error::Unsupported(_) => rvcnn_status::RVCNN_STATUS_UNSUPPORTED,
            Error::Op { source, .. } => source.into(),
        };
        Failure(status, e.to_string())
    }
}

fn defaults() -> rvcnn_embedder_options {
    let d = EmbedderOptions::default();
    rvcnn_embedder_options {
        struct_size: std::mem::size_of::<rvcnn_embedder_options>() as u32,
        output: rvcnn_output::RVCNN_OUTPUT_POOLED as u32,
        fit: rvcnn_fit::RVCNN_FIT_CENTER_CROP as u32,
        input_size: d.preprocess.size as u32,
        l2_normalize: u32::from(d.l2_normalize),
        threads: d.threads as u32,
        image_threads: d.image_threads as u32,
    }
}

/// Reads options (NULL = defaults) into the Rust form.
///
/// # Safety
/// `opts` must be NULL or point to a readable `rvcnn_embedder_options`.
unsafe fn options(opts: *const rvcnn_embedder_options) -> Result<EmbedderOptions, Failure> {
    let o = if opts.is_null() {
        defaults()
    } else {
        // SAFETY: non-NULL and readable per the contract.
        unsafe { *opts }
    };
    if o.struct_size as usize != std::mem::size_of::<rvcnn_embedder_options>() {
        return Err(invalid(format!(
            "options.struct_size is {}, expected {} (initialise with rvcnn_embedder_options_default)",
            o.struct_size,
            std::mem::size_of::<rvcnn_embedder_options>()
        )));
    }
    let output = match o.output {
        0 => Output::Pooled,
        1 => Output::Penultimate,
        2 => Output::Logits,
        v => {
            return Err(invalid(format!(
                "options.output {v} is not an rvcnn_output"
            )));
        }
    };
    let fit = match o.fit {
        0 => Fit::CenterCrop,
        1 => Fit::Letterbox,
        2 => Fit::Stretch,
        v => return Err(invalid(format!("options.fit {v} is not an rvcnn_fit"))),
    };
    Ok(EmbedderOptions {
        output,
        l2_normalize: o.l2_normalize != 0,
        preprocess: Preprocess {
            size: o.input_size as usize,
            fit,
            ..Preprocess::default()
        },
        threads: o.threads as usize,
        image_threads: o.image_threads as usize,
    })
}

/// Writes the default options (pooled output, centre crop, 224, L2-normalised, 1 thread).
///
/// # Safety
/// `out` must be NULL or valid for writing an `rvcnn_embedder_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_options_default(
    out: *mut rvcnn_embedder_options,
) -> rvcnn_status {
    guard(|| {
        non_null(out, "out")?;
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { *out = defaults() };
        Ok(())
    })
}

/// An embedder over `weights` (architecture from their metadata; INT8 when they are a
/// quantized model file) with the kernels allowed by the current ISA cap.
fn build(weights: &Weights, opts: EmbedderOptions) -> Result<Embedder, Failure> {
    let table = crate::isa::table();
    match quantized::from_weights(weights, &table)? {
        Some(q) => Ok(Embedder::new_quantized(q, opts)?),
        None => Ok(Embedder::new(
            Network::from_metadata(weights, &table)?,
            opts,
        )?),
    }
}

/// Stores a new embedder in `*out` (only on success).
///
/// # Safety
/// `out` must be valid for writing one pointer (checked non-NULL by callers).
unsafe fn publish(out: *mut *mut rvcnn_embedder, inner: Embedder) {
    let boxed = Box::into_raw(Box::new(rvcnn_embedder { inner }));
    // SAFETY: per the contract.
    unsafe { *out = boxed };
}

/// Creates an embedder with the default pretrained model (MobileNetV2 ImageNet features,
/// 1280-d), which must have been fetched into the cache once (`rvcnn fetch`).
/// `opts` may be NULL for the defaults. Destroy with `rvcnn_embedder_destroy`.
///
/// # Safety
/// `opts` must be NULL or readable; `out` must be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_create_default(
    opts: *const rvcnn_embedder_options,
    out: *mut *mut rvcnn_embedder,
) -> rvcnn_status {
    guard(|| {
        non_null(out, "out")?;
        // SAFETY: per the contract.
        let o = unsafe { options(opts) }?;
        let e = build(&pretrained::load_default()?, o)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { publish(out, e) };
        Ok(())
    })
}

/// Creates an embedder from a `.safetensors` file (torchvision keys; the architecture is read
/// from its `arch`/`width_mult` metadata, as written by `rvcnn fetch` and
/// `tools/export_torchvision.py`). A quantized model file (`rvcnn quantize --out`) creates an
/// INT8 embedder (pooled output). `path` is a NUL-terminated UTF-8 path.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `opts` NULL or readable; `out` NULL or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_create_from_file(
    path: *const c_char,
    opts: *const rvcnn_embedder_options,
    out: *mut *mut rvcnn_embedder,
) -> rvcnn_status {
    guard(|| {
        non_null(path, "path")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let path = unsafe { CStr::from_ptr(path) }
            .to_str()
            .map_err(|_| invalid("path is not valid UTF-8".into()))?;
        // SAFETY: per the contract.
        let o = unsafe { options(opts) }?;
        let w = Weights::load(Path::new(path))?;
        let e = build(&w, o)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { publish(out, e) };
        Ok(())
    })
}

/// Creates an embedder from the bytes of a `.safetensors` file in memory (`len` bytes at
/// `data`; copied, so the buffer may be freed afterwards); INT8 for a quantized model file, as
/// `rvcnn_embedder_create_from_file`.
///
/// # Safety
/// `data` must be NULL or readable for `len` bytes; `opts` NULL or readable; `out` NULL or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_create_from_memory(
    data: *const u8,
    len: usize,
    opts: *const rvcnn_embedder_options,
    out: *mut *mut rvcnn_embedder,
) -> rvcnn_status {
    guard(|| {
        non_null(data, "data")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and readable for `len` bytes per the contract.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) };
        // SAFETY: per the contract.
        let o = unsafe { options(opts) }?;
        let w = Weights::from_safetensors(bytes)?;
        let e = build(&w, o)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { publish(out, e) };
        Ok(())
    })
}

/// Destroys an embedder (NULL is a no-op).
///
/// # Safety
/// `embedder` must be NULL or a live pointer from an `rvcnn_embedder_create_*` call, not used
/// afterwards nor concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_destroy(embedder: *mut rvcnn_embedder) {
    if !embedder.is_null() {
        // SAFETY: created by `Box::into_raw` in `publish`, destroyed once per the contract.
        // Dropping cannot panic (plain memory).
        drop(unsafe { Box::from_raw(embedder) });
    }
}

/// The embedder behind a handle.
///
/// # Safety
/// `e` must be non-NULL (checked by callers) and live.
unsafe fn get<'a>(e: *const rvcnn_embedder) -> &'a Embedder {
    // SAFETY: per the contract.
    unsafe { &(*e).inner }
}

/// Writes the number of floats per embedding to `*dim`.
///
/// # Safety
/// `embedder` must be NULL or live; `dim` NULL or valid for writing a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_dim(
    embedder: *const rvcnn_embedder,
    dim: *mut usize,
) -> rvcnn_status {
    guard(|| {
        non_null(embedder, "embedder")?;
        non_null(dim, "dim")?;
        // SAFETY: non-NULL, live and writable per the contract.
        unsafe { *dim = get(embedder).dim() };
        Ok(())
    })
}

/// Writes the embedder's arithmetic to `*name`: `"f32"` or `"int8"` (a static NUL-terminated
/// string).
///
/// # Safety
/// `embedder` must be NULL or live; `name` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_precision(
    embedder: *const rvcnn_embedder,
    name: *mut *const c_char,
) -> rvcnn_status {
    guard(|| {
        non_null(embedder, "embedder")?;
        non_null(name, "name")?;
        // SAFETY: non-NULL and live per the contract.
        let p = match unsafe { get(embedder) }.precision() {
            "int8" => c"int8",
            _ => c"f32",
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *name = p.as_ptr() };
        Ok(())
    })
}

/// Validates a C image and views it.
///
/// # Safety
/// `img.data` must be NULL or readable for `img.data_len` bytes.
unsafe fn view<'a>(img: &rvcnn_image, what: &str) -> Result<ImageView<'a>, Failure> {
    non_null(img.data, what)?;
    let format = match img.format {
        0 => PixelFormat::Gray8,
        1 => PixelFormat::Rgb8,
        2 => PixelFormat::Rgba8,
        3 => PixelFormat::Bgr8,
        4 => PixelFormat::Bgra8,
        v => {
            return Err(invalid(format!(
                "{what}: format {v} is not an rvcnn_pixel_format"
            )));
        }
    };
    // SAFETY: non-NULL and readable for `data_len` bytes per the contract.
    let data = unsafe { std::slice::from_raw_parts(img.data, img.data_len) };
    ImageView::new(
        data,
        img.width as usize,
        img.height as usize,
        img.stride,
        format,
    )
    .map_err(|e| invalid(format!("{what}: {e}")))
}

/// Embeds one image into `out[0 .. dim)` (`out_len` ≥ dim floats). `out` is written only on
/// success.
///
/// # Safety
/// `embedder` NULL or live; `image` NULL or readable, its `data` readable for `data_len`
/// bytes; `out` NULL or writable for `out_len` floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_embed(
    embedder: *const rvcnn_embedder,
    image: *const rvcnn_image,
    out: *mut f32,
    out_len: usize,
) -> rvcnn_status {
    guard(|| {
        non_null(embedder, "embedder")?;
        non_null(image, "image")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and live per the contract.
        let e = unsafe { get(embedder) };
        at_least("output", out_len, e.dim())?;
        // SAFETY: `image` is non-NULL and readable, its data as described, per the contract.
        let v = unsafe { view(&*image, "image") }?;
        // SAFETY: non-NULL and writable for `out_len` floats per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        e.embed_into(&v, out)?;
        Ok(())
    })
}

/// Embeds `count` images into `out` (row-major `count × dim` floats; `out_len` ≥ that),
/// spread over the embedder's `threads`. `out` is written only if every image succeeds.
///
/// # Safety
/// `embedder` NULL or live; `images` NULL or readable for `count` `rvcnn_image`s, each with
/// readable data; `out` NULL or writable for `out_len` floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_embedder_embed_batch(
    embedder: *const rvcnn_embedder,
    images: *const rvcnn_image,
    count: usize,
    out: *mut f32,
    out_len: usize,
) -> rvcnn_status {
    guard(|| {
        non_null(embedder, "embedder")?;
        non_null(images, "images")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and live per the contract.
        let e = unsafe { get(embedder) };
        let needed = count.checked_mul(e.dim()).ok_or_else(|| {
            Failure(
                rvcnn_status::RVCNN_STATUS_OUT_OF_MEMORY,
                "count too large".into(),
            )
        })?;
        at_least("output", out_len, needed)?;
        // SAFETY: non-NULL and readable for `count` images per the contract.
        let imgs = unsafe { std::slice::from_raw_parts(images, count) };
        let views = imgs
            .iter()
            .enumerate()
            // SAFETY: each image's data is readable as described, per the contract.
            .map(|(i, img)| unsafe { view(img, &format!("images[{i}]")) })
            .collect::<Result<Vec<_>, _>>()?;
        let mut tmp = vec![0.0f32; needed];
        e.embed_batch_into(&views, &mut tmp)?;
        // SAFETY: non-NULL and writable for `out_len ≥ needed` floats per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(out, needed) };
        out.copy_from_slice(&tmp);
        Ok(())
    })
}
