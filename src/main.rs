use clap::Parser;

fn main() {
    let cli = arkc::cli::Cli::parse();
    match arkc::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", arkc::backend::connect::error_chain_text(&e));
            std::process::exit(1);
        }
    }
}
