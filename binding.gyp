# ostls.node is a plain C shared library (no N-API, no Node symbols) that
# koffi dlopens; node-gyp is only the build driver so node-gyp-build and
# prebuildify find it in the usual places.
{
  "targets": [
    {
      "target_name": "ostls",
      "type": "loadable_module",
      "sources": [
        "c/common/conn_fail.c",
        "c/common/der.c",
        "c/common/engine.c",
        "c/common/lifecycle.c",
        "c/common/options.c",
        "c/common/pem.c",
        "c/common/proxy.c",
        "c/common/proxy_cred.c",
        "c/common/proxy_auth.c",
        "c/common/race.c",
        "c/common/records.c",
        "c/common/session_cache.c",
        "c/common/sha256.c",
        "c/common/strbuf.c",
        "c/common/suites.c",
        "c/common/sysproxy.c",
        "c/common/trust_cache.c",
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
            "c/common/resolve_posix.c",
            "c/common/proxy_cred_none.c",
            "c/common/sock_posix.c",
            "c/common/proxy_auth_none.c",
            "c/common/sysproxy_none.c",
            "c/impl-linux/engines.c",
            "c/impl-linux/mbedtls.c",
            "c/impl-linux/mbedtls_absent.c",
            "c/impl-linux/mbedtls_load.c",
            "c/impl-linux/mbedtls_resume.c",
            "c/impl-linux/mbedtls_verify.c",
            "c/impl-linux/openssl.c",
            "c/impl-linux/ossl_context.c",
            "c/impl-linux/ossl_identity.c",
            "c/impl-linux/ossl_load.c",
            "c/impl-linux/ossl_resume.c",
            "c/impl-linux/ossl_verify.c",
            "c/impl-linux/s2n.c",
            "c/impl-linux/s2n_config.c",
            "c/impl-linux/s2n_load.c",
            "c/impl-linux/s2n_resume.c",
            "c/impl-linux/trust_paths.c"
          ],
          "cflags": ["-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra"],
          "ldflags": ["-Wl,--no-undefined", "-Wl,--as-needed", "-Wl,-Bsymbolic"],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='win'", {
          # Schannel over Winsock; MSVC 2022 17.5+ (C11 atomics). The same
          # sources cross-compile with mingw-w64: scripts/build-win.sh.
          "sources": ["c/common/resolve_win.c", "c/common/sock_win.c", "c/common/sysproxy_win.c",
                      "c/common/proxy_cred_none.c",
                      "c/common/proxy_auth_win.c",
                      "c/impl-win/engines.c", "c/impl-win/schannel.c", "c/impl-win/schannel_identity.c",
                      "c/impl-win/schannel_resume.c", "c/impl-win/schannel_verify.c",
                      "c/impl-win/schannel_os.c"],
          "defines": ["_WIN32_WINNT=0x0A00", "WINVER=0x0A00", "UNICODE", "_UNICODE",
                      "_CRT_SECURE_NO_WARNINGS", "WIN32_LEAN_AND_MEAN"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "AdditionalOptions": ["/std:c11", "/experimental:c11atomics", "/W3"]
            },
            "VCLinkerTool": {
              "AdditionalDependencies": ["secur32.lib", "crypt32.lib", "ws2_32.lib", "winhttp.lib"]
            }
          },
          "libraries": ["-lsecur32", "-lcrypt32", "-lws2_32", "-lwinhttp"]
        }],
        ["OS=='mac'", {
          # Network.framework (TLS 1.3) and SecureTransport engines in one
          # library, chosen at tls_init (c/impl-mac/engines.c). Network is
          # weak-linked; blocks need -fblocks. scripts/build-mac.sh and
          # scripts/check-mac.sh build the same sources without node-gyp.
          "sources": [
            "c/common/resolve_posix.c",
            "c/common/proxy_cred_mac.c",
            "c/common/sock_posix.c",
            "c/common/proxy_auth_none.c",
            "c/common/sysproxy_mac.c",
            "c/impl-mac/engines.c",
            "c/impl-mac/mac_common.c",
            "c/impl-mac/mac_identities.c",
            "c/impl-mac/mac_identity.c",
            "c/impl-mac/network.c",
            "c/impl-mac/securetransport.c",
            "c/impl-mac/st_resume.c"
          ],
          "xcode_settings": {
            "MACOSX_DEPLOYMENT_TARGET": "10.15",
            "GCC_C_LANGUAGE_STANDARD": "c11",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "OTHER_CFLAGS": ["-fblocks", "-Wall", "-Wextra"],
            "OTHER_LDFLAGS": ["-framework", "Security", "-framework", "CoreFoundation", "-framework", "CFNetwork",
                              "-weak_framework", "Network"]
          }
        }]
      ]
    }
  ]
}
