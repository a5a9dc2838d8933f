# ostls.node is a plain C shared library (no N-API, no Node symbols) that
# koffi dlopens; node-gyp is only the build driver so node-gyp-build and
# prebuildify find it in the usual places.
{
  "targets": [
    {
      "target_name": "ostls",
      "type": "loadable_module",
      "sources": [
        "c/common/options.c",
        "c/common/resolve.c",
        "c/common/sock.c",
        "c/common/strbuf.c",
        "c/common/tls_client.c",
        "c/common/verify.c"
      ],
      "include_dirs": ["c"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      },
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "c/impl-linux/openssl.c",
            "c/impl-linux/ossl_load.c"
          ],
          "cflags": ["-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra"],
          "ldflags": ["-Wl,--no-undefined", "-Wl,--as-needed"],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='win'", {
          # c/impl-win (Schannel over Winsock) goes here.
        }],
        ["OS=='mac'", {
          # c/impl-mac (Security / Network frameworks) goes here.
        }]
      ]
    }
  ]
}
