#![no_main]

libfuzzer_sys::fuzz_target!(|input: strait_fuzz::SublistScript| input.run());
