/**
 * The Console is a static export (out/) that Edge serves at `/`: no Node process at run time.
 * Pages take their ids from the query string (/chat/?c=..., /audit/?task=...), never from
 * dynamic segments, because nothing renders on a server.
 *
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  // `npm run typecheck` is the type gate; the build checks types too. No ESLint is installed.
  eslint: { ignoreDuringBuilds: true },
};

export default nextConfig;
