# libdeflate (Debian libdeflate.so.0 via ctypes) gzip levels 1..9: ratio and MB/s, REPS runs of >=1 s each.
# Usage: ld.py FILE [REPS]
import ctypes, gzip, sys, time
ld = ctypes.CDLL("libdeflate.so.0")
ld.libdeflate_alloc_compressor.restype = ctypes.c_void_p
ld.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
ld.libdeflate_gzip_compress.restype = ctypes.c_size_t
ld.libdeflate_gzip_compress.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
data = open(sys.argv[1], "rb").read()
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
out = ctypes.create_string_buffer(len(data) + 65536)
comps = {level: ld.libdeflate_alloc_compressor(level) for level in range(1, 10)}
for r in range(reps):
    for level in range(1, 10):
        c = comps[level]
        n = 0; start = time.perf_counter()
        while time.perf_counter() - start < 1:
            size = ld.libdeflate_gzip_compress(c, data, len(data), out, len(out)); n += 1
        el = (time.perf_counter() - start) / n
        if r == 0:
            assert gzip.decompress(out.raw[:size]) == data
        print(f"libdeflate level {level} rep {r}: {len(data)} -> {size} bytes, ratio {len(data)/size:.3f}, {len(data)/el/1e6:.1f} MB/s ({n} iters)", flush=True)
