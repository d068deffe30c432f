{
  # CPU build of the addon (what prebuildify ships). Each ISA has its own
  # static library compiled with its own flags; dispatch.cc picks one at run
  # time from CPUID, so one binary runs on every x86-64 CPU.
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-O3", "-fno-math-errno"],
    "cflags!": ["-fno-exceptions"],
    "include_dirs": ["native/include"],
    # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: when a worker_thread is terminated
    # mid-call, node-addon-api must drop the pending exception instead of aborting.
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"]
  },
  "targets": [
    {
      "target_name": "convbert_avx2",
      "type": "static_library",
      "cflags_cc": ["-mavx2", "-mfma", "-fPIC"],
      "sources": ["<!@(node scripts/list_sources.js avx2)"]
    },
    {
      "target_name": "convbert_avx512",
      "type": "static_library",
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-fPIC"],
      "sources": ["<!@(node scripts/list_sources.js avx512)"]
    },
    {
      "target_name": "convbert_avx512bf16",
      "type": "static_library",
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mfma", "-mavx2", "-fPIC"],
      "sources": ["<!@(node scripts/list_sources.js avx512bf16)"]
    },
    {
      "target_name": "convbert_avx512vnni",
      "type": "static_library",
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni", "-mfma", "-mavx2", "-fPIC"],
      "sources": ["<!@(node scripts/list_sources.js avx512vnni)"]
    },
    {
      # The kernel library and engine (no Node), linked into both addons below.
      "target_name": "convbert_core",
      "type": "static_library",
      "dependencies": ["convbert_avx2", "convbert_avx512", "convbert_avx512bf16", "convbert_avx512vnni"],
      "cflags_cc": ["-fPIC"],
      "sources": [
        "<!@(node scripts/list_sources.js core)",
        "<!@(node scripts/list_sources.js stub)"
      ]
    },
    {
      # The shipped addon: engine, tokenizer, public ops. prebuildify copies the first
      # .node of build/Release in name order, which is this one ("." sorts before "_").
      "target_name": "convbert",
      "dependencies": ["convbert_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["<!@(node scripts/list_sources.js binding)"],
      "libraries": ["-lpthread"],
      # -static-libstdc++ and glibc's oldest symbol versions, so the prebuilt binary loads
      # on older Linux than the one that built it (scripts/glibc_compat.js says how).
      "ldflags": ["<!@(node scripts/glibc_compat.js)"]
    },
    {
      # The test addon (tests and benches only, never shipped): single ops on an
      # explicit kernel path, and the CUDA op entry points.
      "target_name": "convbert_test",
      "dependencies": ["convbert_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["<!@(node scripts/list_sources.js binding_test)"],
      "libraries": ["-lpthread"],
      # -static-libstdc++ and glibc's oldest symbol versions, so the prebuilt binary loads
      # on older Linux than the one that built it (scripts/glibc_compat.js says how).
      "ldflags": ["<!@(node scripts/glibc_compat.js)"]
    }
  ]
}
