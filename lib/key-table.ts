import { Annotations, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { KEY_TABLE_SCHEMA } from '../lambda/adapters/key-table-schema';

/** The id of the warning that a key table has more than one replica region, for `Annotations.acknowledgeWarning`. */
export const REPLICA_REGIONS_WARNING = 'keyroll:replicaRegionsOnePerDeploy';

export interface KeyTableProps {
  /** Encrypts the table. @default - an AWS-owned key */
  readonly encryptionKey?: IKey;
  /** Replicas in other regions, each encrypted with a key of its region (with `encryptionKey` only). */
  readonly replicas?: readonly { readonly region: string; readonly encryptionKeyArn: string }[];
  /** @default - generated */
  readonly tableName?: string;
}

/**
 * The key table: key versions by hash, a client index, events and usage, as `KEY_TABLE_SCHEMA` describes.
 * Retained on stack deletion: it holds the audit trail, and deleting it would refuse every key.
 */
export class KeyTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: KeyTableProps = {}) {
    super(scope, id);
    const { partitionKey, sortKey, byClientIndex, timeToLiveAttribute } = KEY_TABLE_SCHEMA;
    if ((props.replicas ?? []).length > 1) {
      // One replica added or removed per update of an existing global table
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-globaltable.html, Replicas).
      Annotations.of(this).addWarningV2(
        REPLICA_REGIONS_WARNING,
        `the key table has ${(props.replicas ?? []).length} replica regions: an existing table takes one region added or removed per deploy, in a deploy that changes nothing else (a new table may start with all); acknowledge this warning once they are deployed`,
      );
    }
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      sortKey: { name: sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute,
      encryption:
        props.encryptionKey === undefined
          ? TableEncryptionV2.dynamoOwnedKey()
          : TableEncryptionV2.customerManagedKey(props.encryptionKey, Object.fromEntries((props.replicas ?? []).map(({ region, encryptionKeyArn }) => [region, encryptionKeyArn]))),
      // A global table: adding a replica is an update without interruption, not a replacement
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-globaltable.html, Replicas).
      replicas: (props.replicas ?? []).map(({ region }) => ({ region })),
      // On from the start: a global table's stream settings may change only while it has one replica, and one
      // with more than one must have them, so the first replica cannot bring the stream in the same update
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-globaltable-streamspecification.html).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      ...(props.tableName === undefined ? {} : { tableName: props.tableName }),
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: byClientIndex.indexName,
          partitionKey: { name: byClientIndex.partitionKey, type: AttributeType.STRING },
          sortKey: { name: byClientIndex.sortKey, type: AttributeType.NUMBER },
        },
      ],
    });
  }
}
