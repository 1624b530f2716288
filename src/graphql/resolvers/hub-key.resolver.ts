import { Arg, Authorized, Int, Mutation, Query, Resolver } from 'type-graphql';
import { ROTATION_ACTIVATION_SECONDS_DEFAULT, ROTATION_ACTIVATION_SECONDS_MAX, type HubKeys } from '../../hub-keys/hub-keys';
import { badInput } from '../../common/auth-errors';
import { HubKey } from '../types/hub-key.type';

@Resolver(() => HubKey)
export class HubKeyResolver {
  constructor(private readonly keys: HubKeys) {}

  @Authorized('operator')
  @Query(() => [HubKey], { description: "The hub's signing keys, newest first." })
  hubKeys(): Promise<HubKey[]> {
    return this.keys.list();
  }

  @Authorized('operator')
  @Mutation(() => HubKey, {
    description:
      'Generate a key, published at once and signing after activateInSeconds on every instance (within HUB_KEY_REFRESH_SECONDS), without a restart. Old keys stay published until retired (hub-key retire).',
  })
  rotateHubKey(
    @Arg('activateInSeconds', () => Int, {
      defaultValue: ROTATION_ACTIVATION_SECONDS_DEFAULT,
      description: `0 to ${ROTATION_ACTIVATION_SECONDS_MAX}; lets cached JWKS catch up first`,
    })
    activateInSeconds: number,
  ): Promise<HubKey> {
    if (activateInSeconds < 0 || activateInSeconds > ROTATION_ACTIVATION_SECONDS_MAX)
      throw badInput(`activateInSeconds must be from 0 to ${ROTATION_ACTIVATION_SECONDS_MAX}`);
    return this.keys.rotate('EdDSA', activateInSeconds);
  }
}
