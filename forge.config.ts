/**
 * Electron Forge: packages the desktop mailer client. Vite builds the main process, the preload
 * and the renderer; `npm run build` (run by `npm ci`) builds dist/app/, the boxes, key ceremony
 * and database threads the embedded demo starts, which the package keeps unpacked beside the asar
 * with the native modules (electron/launch-paths.ts). Makers produce deb and rpm (both put `vpm`
 * on the PATH), zip, Squirrel (Windows) and DMG (macOS); fuses turn off Node entry points an
 * attacker could use and require the app to load from its checked asar.
 */
import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { MakerDeb } from '@electron-forge/maker-deb';
import { MakerRpm } from '@electron-forge/maker-rpm';
import { MakerZIP } from '@electron-forge/maker-zip';
import { MakerSquirrel } from '@electron-forge/maker-squirrel';
import { MakerDMG } from '@electron-forge/maker-dmg';
import { ignoredInPackage, UNPACKED_DIRS } from './electron/launch-paths';

export const APP = {
  productName: 'Virtual Postage Meter',
  /** Package and executable name (deb, rpm, Linux binary). */
  name: 'virtual-postage-meter',
  id: 'com.example.virtual-postage-meter',
  description: 'Print postage indicia from your PC; the meter is kept at the data center',
  /** Without extension: Packager picks .icns (macOS) or .ico (Windows). */
  icon: 'build-resources/icon',
} as const;

const linux = {
  name: APP.name,
  productName: APP.productName,
  description: APP.description,
  bin: APP.name,
  icon: `${APP.icon}.png`,
  categories: ['Office' as const],
};

const config: ForgeConfig = {
  packagerConfig: {
    name: APP.productName,
    executableName: APP.name,
    appBundleId: APP.id,
    icon: APP.icon,
    asar: { unpackDir: UNPACKED_DIRS },
    ignore: ignoredInPackage,
    // resources/vpm: the `vpm` command of the Linux packages.
    extraResource: ['build-resources/linux/vpm'],
  },
  rebuildConfig: { onlyModules: ['better-sqlite3', 'keytar'] },
  makers: [
    new MakerSquirrel({
      name: 'virtual_postage_meter',
      setupIcon: `${APP.icon}.ico`,
      description: APP.description,
    }),
    new MakerZIP({}, ['darwin', 'linux', 'win32']),
    new MakerDMG({ format: 'ULFO', name: APP.productName, icon: `${APP.icon}.icns` }),
    new MakerDeb({
      options: {
        ...linux,
        section: 'misc',
        scripts: {
          postinst: 'build-resources/linux/link-vpm.sh',
          prerm: 'build-resources/linux/unlink-vpm.sh',
        },
      },
    }),
    new MakerRpm({
      options: {
        ...linux,
        // electron-installer-redhat's scriptlets (not in Forge's types).
        ...{
          scripts: {
            post: 'build-resources/linux/link-vpm.sh',
            preun: 'build-resources/linux/unlink-vpm.sh',
          },
        },
      },
    }),
  ],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main.ts', config: 'vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload.ts', config: 'vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
    }),
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    }),
  ],
};

export default config;
