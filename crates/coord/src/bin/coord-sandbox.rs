//! `coord-sandbox`: the trampoline of sandboxed commands on its own, a small binary that
//! starts in a fraction of the time the whole `coord` takes (each sandboxed command starts it
//! twice). `coord` uses it when it is installed beside it, and acts as the trampoline itself
//! otherwise.

fn main() {
    coord_sandbox::enter();
    eprintln!("coord-sandbox: this program is started by coord for each sandboxed command; run `coord sandbox check`");
    std::process::exit(2);
}
