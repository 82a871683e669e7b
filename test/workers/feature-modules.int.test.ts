import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup } from '../../core/featurestore';
import { loadFeatureModules } from '../../core/featurestore';
import { getFeatureView } from '../../core/featurestore';
import { uniqueGroupName } from '../support/featurestore';

// A feature team's module, loaded the way the features worker loads FTI_FEATURE_MODULES.
describe('feature modules', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
  });
  afterAll(() => database.close());

  it('registers the module’s feature groups and transformations', async () => {
    const group = uniqueGroupName('mod');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-mod-'));
    const file = path.join(dir, 'features.js');
    const featurestore = path.resolve(__dirname, '../../core/featurestore');
    fs.writeFileSync(
      file,
      `const { rowTransformation } = require(${JSON.stringify(featurestore)});
       exports.featureGroups = [{ name: ${JSON.stringify(group)}, primaryKey: ['id'], eventTime: 'ts',
         features: [{ name: 'id', type: 'string' }, { name: 'ts', type: 'timestamp' }] }];
       exports.transformations = { doubled: rowTransformation((r) => ({ ...r })) };
       exports.onDemandFeatures = [{ name: 'twice', type: 'double', inputs: ['x'], compute: ({ x }) => x * 2 }];
       exports.featureViews = [{ name: ${JSON.stringify(`${group}_view`)}, spine: { featureGroup: ${JSON.stringify(group)} } }];`,
    );
    const modules = await loadFeatureModules(database.db, file);
    expect(modules.transformations.names()).toEqual(['doubled']);
    expect(modules.onDemand.get('twice').compute({ x: 2 })).toBe(4);
    expect((await getFeatureView(database.db, `${group}_view`)).view.spineColumns.map((c) => c.name)).toEqual(
      ['id', 'ts'],
    );
    expect((await getFeatureGroup(database.db, group)).spec.primaryKey).toEqual(['id']);
    await expect(loadFeatureModules(database.db, path.join(dir, 'missing.js'))).rejects.toThrow(
      /FTI_FEATURE_MODULES: cannot load/,
    );
  });
});
