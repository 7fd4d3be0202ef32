//! napi-rs link setup (on macOS: leave the Node symbols to be resolved at load time).
fn main() {
    napi_build::setup();
}
