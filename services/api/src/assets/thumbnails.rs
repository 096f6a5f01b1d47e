//! Reading an uploaded image and making its thumbnails: the type is
//! sniffed from the bytes (PNG, JPEG, GIF, WebP), never taken from the
//! upload's header, and the image is decoded under limits on its sides and
//! on the memory the decoder may take, so a decompression bomb fails with
//! 422 instead of exhausting the server. CPU-bound: callers run it on the
//! blocking pool.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::error::{ApiError, FieldProblem};

/// Thumbnail widths, in pixels.
pub const THUMBNAIL_WIDTHS: [u32; 2] = [150, 300];
/// Largest width or height accepted.
const MAX_SIDE: u32 = 10_000;

/// A decoded upload: its sniffed format, size, and WebP thumbnails (in
/// [`THUMBNAIL_WIDTHS`] order).
pub(super) struct Processed {
    pub(super) format: ImageFormat,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) thumbs: Vec<Vec<u8>>,
}

/// Decodes (under limits) and makes the thumbnails.
pub(super) fn process(bytes: &[u8]) -> Result<Processed, ApiError> {
    let unsupported = || {
        ApiError::Invalid(vec![FieldProblem::new(
            "file",
            "not a PNG, JPEG, GIF or WebP image (the type is read from the bytes)",
        )])
    };
    let format = image::guess_format(bytes).map_err(|_| unsupported())?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(unsupported());
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        ApiError::Invalid(vec![FieldProblem::new(
            "file",
            format!("the image cannot be decoded: {e}"),
        )])
    })?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "file",
            "the image has no pixels",
        )]));
    }
    let thumbs = THUMBNAIL_WIDTHS
        .into_iter()
        .map(|width| thumbnail(&img, width))
        .collect::<Result<_, _>>()?;
    Ok(Processed {
        format,
        width: w,
        height: h,
        thumbs,
    })
}

/// `img` `width` pixels wide (never enlarged), its aspect kept, as WebP.
fn thumbnail(img: &DynamicImage, width: u32) -> Result<Vec<u8>, ApiError> {
    let (w, h) = (img.width(), img.height());
    let tw = width.min(w);
    let th = ((u64::from(h) * u64::from(tw)) / u64::from(w)).max(1);
    let th = u32::try_from(th).unwrap_or(u32::MAX);
    // 8-bit RGBA first: the WebP encoder takes 8-bit samples only, and a
    // 16-bit PNG would fail to encode.
    let thumb = DynamicImage::ImageRgba8(
        img.resize_exact(tw, th, image::imageops::FilterType::Triangle)
            .to_rgba8(),
    );
    let mut out = Vec::new();
    thumb
        .write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)
        .map_err(|e| ApiError::Internal(format!("webp encoding: {e}")))?;
    Ok(out)
}
