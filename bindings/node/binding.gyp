{
  "targets": [
    {
      "target_name": "pricecache",
      "sources": ["src/addon.cc", "src/reader.cc", "src/subscriber.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["<!@(pkg-config --cflags pricecache)", "-std=c++17", "-Wall", "-Wextra", "-Werror"],
      "libraries": ["<!@(pkg-config --libs pricecache)"]
    }
  ]
}
