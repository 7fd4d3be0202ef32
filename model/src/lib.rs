//! MobileNetV3 / MobileNetV2 models built from `ruvector-cnn-kernels` operators.
//!
//! Not implemented yet: the models, weight loading, preprocessing and embeddings arrive with
//! the model issue. The crate exists so the workspace layout is complete; it exports nothing.
