// Types of the image and detection helpers (images.js, detect.js).

import type { Tensor } from "../index.js";

/** Anything `imageToTensor` reads; an `<img>` still loading is awaited, a `<video>` needs a frame. */
export type ImageSource =
  | ImageBitmap | ImageData | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | HTMLVideoElement | VideoFrame;

/** What the helpers read of a Session: a Session, or any object with these fields. */
export interface VisionModel {
  readonly metadata: {
    /** docs/format.md, META `preprocess`: layout, size, color, scale, mean, std, resize, ... */
    preprocess?: object;
    /** `kind` "yolov8" | "blazeface" and their parameters. */
    postprocess?: object;
    labels?: readonly string[];
  };
  readonly inputs?: readonly { readonly name: string; readonly dims: readonly number[] }[];
}

/** input = source * scale + offset per axis; `width` x `height` is the source image's size. */
export class Transform {
  constructor(scaleX: number, scaleY: number, offsetX: number, offsetY: number, width: number, height: number);
  readonly scaleX: number;
  readonly scaleY: number;
  readonly offsetX: number;
  readonly offsetY: number;
  readonly width: number;
  readonly height: number;
  /** Flat [x, y, x, y, ...] (a point, or a box [x1, y1, x2, y2]) from input to source pixels. */
  toOriginal(xy: ArrayLike<number>): number[];
}

/** A Transform's fields, as a plain object (one that went through postMessage) also carries them. */
export type TransformLike = Pick<Transform, "scaleX" | "scaleY" | "offsetX" | "offsetY" | "width" | "height">;

/** Like `Transform.toOriginal`, for a Transform or a plain object with its fields. */
export function toOriginal(transform: TransformLike, xy: ArrayLike<number>): number[];

/** The model's input for one image, as Python's `sparsegate.vision.images.preprocess` makes it. */
export function imageToTensor(source: ImageSource, session: VisionModel, options?: { input?: string }):
  Promise<{ tensor: Tensor; transform: Transform; feeds: Record<string, Tensor> }>;

/** One output as `Session.run` returns it, or any {data, dims}. */
export type OutputLike = Tensor | { readonly data: ArrayLike<number>; readonly dims?: readonly number[] };

export interface Detection {
  /** [x1, y1, x2, y2] in source pixels (with a transform), clipped to the image. */
  box: [number, number, number, number];
  score: number;
  class: number;
  label: string;
  /** BlazeFace: 6 x [x, y], in the metadata's `keypoints` order (eyes, nose, mouth, ears). */
  keypoints?: [number, number][];
}

export interface DecodeOptions {
  scoreThreshold?: number;
  iouThreshold?: number;
  /** Default: the metadata's `max_detections` (YOLOv8: 100; BlazeFace: no limit). */
  maxDetections?: number;
}

/** Detections best first, as Python's `sparsegate.vision.detect.decode`. */
export function decodeDetections(session: VisionModel, outputs: Record<string, OutputLike>,
                                 transform?: TransformLike | null, options?: DecodeOptions): Detection[];

/** The `k` likeliest classes (softmax of the first output), as `sparsegate run` prints them. */
export function topK(session: VisionModel, outputs: Record<string, OutputLike>, k?: number):
  { index: number; label: string; score: number }[];
