// CurlKit: see README "Layout". Placeholder until its issue lands.
enum CurlKitModule {}
