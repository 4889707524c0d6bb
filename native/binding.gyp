{
  "targets": [
    {
      "target_name": "multiloss_native",
      "sources": [
        "src/addon.cc",
        "src/gemm.cc",
        "src/kernels.cc",
        "src/conv.cc",
        "src/threads.cc"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fvisibility=hidden", "-pthread"],
      "cflags_cc": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fvisibility=hidden", "-pthread", "-std=c++17"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno"],
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c++17"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "AdditionalOptions": ["/fp:precise", "/O2"] }
      }
    }
  ]
}
